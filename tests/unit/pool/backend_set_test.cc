#include "pool/backend.h"

#include <gtest/gtest.h>

namespace kha::pool {
namespace {

BackendList three() {
  return {std::make_shared<Backend>("a", HostPort{"127.0.0.1", 1}),
          std::make_shared<Backend>("b", HostPort{"127.0.0.1", 2}),
          std::make_shared<Backend>("c", HostPort{"127.0.0.1", 3})};
}

TEST(BackendSet, PickSkipsTriedAndRemovedBackends) {
  BackendSet set(three(), config::Balance::RoundRobin);
  auto list = set.snapshot();
  (*list)[1]->mark_removed();
  std::vector<const Backend*> tried{(*list)[0].get()};
  bool ignoring = true;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(set.pick(*list, tried, &ignoring)->name(), "c");
  EXPECT_FALSE(ignoring);
  tried.push_back((*list)[2].get());
  EXPECT_EQ(set.pick(*list, tried, &ignoring), nullptr);
}

TEST(BackendSet, ReplaceKeepsOldSnapshotsValid) {
  BackendSet set(three(), config::Balance::LeastConn);
  auto before = set.snapshot();
  set.replace({std::make_shared<Backend>("d", HostPort{"127.0.0.1", 4})});
  EXPECT_EQ(before->size(), 3u);
  EXPECT_EQ(set.snapshot()->size(), 1u);
}

TEST(BackendStats, ConnectLatencyLandsInItsBucket) {
  BackendStats s;
  s.observe_connect_latency(std::chrono::microseconds(700));   // <= 1ms
  s.observe_connect_latency(std::chrono::microseconds(6'000'000));  // +Inf
  EXPECT_EQ(s.connect_latency_buckets[1].load(), 1u);
  EXPECT_EQ(s.connect_latency_buckets[kConnectLatencyBuckets.size()].load(), 1u);
  EXPECT_EQ(s.connect_latency_count.load(), 2u);
}

}  // namespace
}  // namespace kha::pool
