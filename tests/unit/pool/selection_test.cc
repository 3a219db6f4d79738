#include "pool/selection.h"

#include <gtest/gtest.h>

#include <vector>

namespace kha::pool {
namespace {

using config::Balance;

std::vector<std::size_t> picks(const std::vector<Candidate>& backends, Balance balance, int rounds) {
  std::vector<std::size_t> out;
  for (int cursor = 0; cursor < rounds; ++cursor) {
    auto c = select_backend(backends, balance, static_cast<std::uint64_t>(cursor));
    out.push_back(c ? c->index : 99);
  }
  return out;
}

TEST(RoundRobin, RotatesOverUpBackendsInOrder) {
  std::vector<Candidate> b(3);
  EXPECT_EQ(picks(b, Balance::RoundRobin, 6), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(RoundRobin, SkipsDownAndExcludedBackends) {
  std::vector<Candidate> b(3);
  b[1].up = false;
  EXPECT_EQ(picks(b, Balance::RoundRobin, 3), (std::vector<std::size_t>{0, 2, 2}));
  b[2].excluded = true;
  EXPECT_EQ(picks(b, Balance::RoundRobin, 3), (std::vector<std::size_t>{0, 0, 0}));
}

TEST(RoundRobin, AllDownFallsBackToEveryBackendAndSaysSo) {
  std::vector<Candidate> b(2);
  b[0].up = b[1].up = false;
  auto c = select_backend(b, Balance::RoundRobin, 1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->index, 1u);
  EXPECT_TRUE(c->ignoring_health);
}

TEST(RoundRobin, AllExcludedGivesNothing) {
  std::vector<Candidate> b(2);
  b[0].excluded = b[1].excluded = true;
  EXPECT_FALSE(select_backend(b, Balance::RoundRobin, 0));
  EXPECT_FALSE(select_backend({}, Balance::LeastConn, 0));
}

TEST(LeastConn, PicksFewestActiveSessions) {
  std::vector<Candidate> b(3);
  b[0].active_sessions = 5;
  b[1].active_sessions = 2;
  b[2].active_sessions = 7;
  EXPECT_EQ(picks(b, Balance::LeastConn, 3), (std::vector<std::size_t>{1, 1, 1}));
}

TEST(LeastConn, TiesRotateFromTheCursor) {
  std::vector<Candidate> b(3);
  EXPECT_EQ(picks(b, Balance::LeastConn, 4), (std::vector<std::size_t>{0, 1, 2, 0}));
}

TEST(LeastConn, IgnoresDownBackendEvenIfIdle) {
  std::vector<Candidate> b(2);
  b[0].up = false;
  b[1].active_sessions = 100;
  auto c = select_backend(b, Balance::LeastConn, 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->index, 1u);
  EXPECT_FALSE(c->ignoring_health);
}

}  // namespace
}  // namespace kha::pool
