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


// Slow start: the share of picks a returning backend gets, under leastconn where it is
// the emptiest (without the rule it would take every pick) and under roundrobin.
double share_of(std::vector<Candidate> b, Balance balance, std::size_t index, int rounds = 20000) {
  int hits = 0;
  for (const auto i : picks(b, balance, rounds)) hits += i == index;
  return static_cast<double>(hits) / rounds;
}

TEST(SlowStart, AdmitGrowsFromATenthToAllOverTheWindow) {
  using namespace std::chrono_literals;
  EXPECT_DOUBLE_EQ(slow_start_admit(0s, 10s), 0.1);
  EXPECT_DOUBLE_EQ(slow_start_admit(500ms, 10s), 0.1);
  EXPECT_DOUBLE_EQ(slow_start_admit(5s, 10s), 0.5);
  EXPECT_DOUBLE_EQ(slow_start_admit(10s, 10s), 1.0);
  EXPECT_DOUBLE_EQ(slow_start_admit(1h, 10s), 1.0);
  EXPECT_DOUBLE_EQ(slow_start_admit(0s, 0s), 1.0) << "0 = off";
}

TEST(SlowStart, AnEmptyReturningBackendGetsItsShareNotEveryLeastconnPick) {
  std::vector<Candidate> b(3);
  b[0].active_sessions = 100;
  b[1].active_sessions = 100;
  b[2].admit = 0.1;  // just back, no session yet
  EXPECT_NEAR(share_of(b, Balance::LeastConn, 2), 0.1, 0.02);
  b[2].admit = 0.5;
  EXPECT_NEAR(share_of(b, Balance::LeastConn, 2), 0.5, 0.02);
  b[2].admit = 1.0;
  EXPECT_EQ(share_of(b, Balance::LeastConn, 2), 1.0) << "after the ramp, plain leastconn";
}

TEST(SlowStart, RoundRobinPassesOverARampingBackendInProportion) {
  std::vector<Candidate> b(3);
  b[1].admit = 0.1;
  const double ramping = share_of(b, Balance::RoundRobin, 1);
  EXPECT_NEAR(ramping, 0.1 / 3, 0.01);
  EXPECT_NEAR(share_of(b, Balance::RoundRobin, 0) + share_of(b, Balance::RoundRobin, 2), 1.0 - ramping, 1e-9);
}

TEST(SlowStart, TheOnlyBackendLeftIsTakenWhateverItsShare) {
  std::vector<Candidate> b(3);
  b[0].up = false;
  b[1].excluded = true;  // tried already for this client
  b[2].admit = 0.1;
  EXPECT_EQ(share_of(b, Balance::LeastConn, 2), 1.0);
  EXPECT_EQ(share_of(b, Balance::RoundRobin, 2), 1.0);
  b[0].up = true;  // a settled backend is up again: the ramping one gets its share
  b[0].active_sessions = 50;
  EXPECT_NEAR(share_of(b, Balance::LeastConn, 2), 0.1, 0.02);
}

}  // namespace
}  // namespace kha::pool
