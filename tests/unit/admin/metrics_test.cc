// Metrics registry: Prometheus text against a golden file, and concurrent updates.
#include "admin/metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace kha::admin {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The registry the golden file shows: every kind, labels, escaping, removal.
void fill_sample(Registry& r) {
  auto& up = r.gauge("kha_backend_up", "1 when the backend is up, 0 when down.", {"frontend", "backend"});
  up.with({"apiserver", "cp1"})->set(1);
  up.with({"apiserver", "cp2"})->set(0);
  up.with({"apiserver", "cp3"})->set(1);
  up.remove({"apiserver", "cp3"});  // gone after a reload
  auto& sessions = r.counter("kha_backend_sessions_total", "Sessions sent to the backend.", {"frontend", "backend"});
  sessions.with({"apiserver", "cp2"})->inc(7);
  sessions.with({"apiserver", "cp1"})->inc();
  sessions.with({"etcd", "say \"hi\"\\\n"})->inc(2);
  r.counter("kha_reloads_total", "Reloads applied.\nSecond line \\ backslash.").with({})->inc(3);
  r.gauge("kha_ratio", "A fractional gauge.").with({})->set(0.25);
  auto& latency = r.histogram("kha_backend_connect_seconds", "Upstream connect latency.", {"backend"},
                              {0.25, 0.125, 1});  // sorted on registration
  auto h = latency.with({"cp1"});
  h->observe(0.0625);
  h->observe(0.125);  // on a bound: counts in that bucket (le is inclusive)
  h->observe(0.5);
  h->observe(3);
}

TEST(Metrics, RendersPrometheusTextFormat) {
  const std::string golden_path = std::string(KHA_ADMIN_TESTDATA) + "/metrics.golden";
  Registry registry;
  fill_sample(registry);
  const std::string rendered = registry.render();
  if (std::getenv("KHA_UPDATE_GOLDEN")) std::ofstream(golden_path) << rendered;
  EXPECT_EQ(rendered, read_file(golden_path));
}

TEST(Metrics, RegisteringTwiceReturnsTheSameFamily) {
  Registry r;
  auto& a = r.counter("kha_x_total", "x", {"l"});
  auto& b = r.counter("kha_x_total", "x", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.with({"v"}), b.with({"v"}));
}

TEST(Metrics, RemovedChildStaysUsableForItsHolder) {
  Registry r;
  auto& g = r.gauge("kha_g", "g", {"b"});
  auto child = g.with({"cp1"});
  g.remove({"cp1"});
  child->inc();
  EXPECT_EQ(child->value(), 1);
  EXPECT_EQ(r.render(), "# HELP kha_g g\n# TYPE kha_g gauge\n");
}

TEST(Metrics, FormatsSamples) {
  EXPECT_EQ(format_sample(3), "3");
  EXPECT_EQ(format_sample(-2), "-2");
  EXPECT_EQ(format_sample(0.1), "0.1");
  EXPECT_EQ(format_sample(1e-7), "1e-07");
  EXPECT_EQ(format_sample(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_sample(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_sample(0.0 / 0.0), "NaN");
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  auto counter = r.counter("kha_c_total", "c").with({});
  auto gauge = r.gauge("kha_g", "g").with({});
  auto hist = r.histogram("kha_h_seconds", "h", {}, {0.5}).with({});
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter->inc();
        gauge->inc();
        gauge->dec();
        gauge->add(0.5);
        hist->observe(t % 2 ? 0.25 : 1.0);
        if (i % 1000 == 0) (void)r.render();  // scrapes race with updates
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter->value(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_DOUBLE_EQ(gauge->value(), 0.5 * kThreads * kPerThread);
  const auto snap = hist->snapshot();
  EXPECT_EQ(snap.count, std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(snap.cumulative[0], std::uint64_t{kThreads / 2} * kPerThread);
  EXPECT_DOUBLE_EQ(snap.sum, (0.25 + 1.0) * (kThreads / 2) * kPerThread);
}

}  // namespace
}  // namespace kha::admin
