// Session ages: the buckets a backend's sessions are counted in (pool::aged_bucket) and
// how a worker's sweep moves each session up as it ages (SessionRegistry::sweep).
#include <gtest/gtest.h>

#include "pool/backend.h"
#include "proxy/session_registry.h"

namespace kha::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(SessionAges, BucketBoundsAreInclusiveBelow) {
  EXPECT_EQ(pool::aged_bucket(0s), -1);
  EXPECT_EQ(pool::aged_bucket(59999ms), -1);
  EXPECT_EQ(pool::aged_bucket(60s), 0);
  EXPECT_EQ(pool::aged_bucket(599s), 0);
  EXPECT_EQ(pool::aged_bucket(10min), 1);
  EXPECT_EQ(pool::aged_bucket(1h), 2);
  EXPECT_EQ(pool::aged_bucket(6h), 3);
  EXPECT_EQ(pool::aged_bucket(24h * 400), 3);
  EXPECT_EQ(pool::aged_bucket(-5s), -1);  // a clock read out of order is young, not garbage
}

// Registers `n` sessions on `b` started at `started`, as a relay does.
std::vector<SessionControl> sessions(pool::Backend& b, int n, Clock::time_point started) {
  std::vector<SessionControl> out(static_cast<std::size_t>(n));
  for (auto& s : out) {
    s.backend = &b;
    s.started = started;
    b.stats().active_sessions.fetch_add(1);
  }
  return out;
}

TEST(SessionAges, TheSweepMovesSessionsUpAsTheyAge) {
  pool::Backend b("cp1", HostPort{"127.0.0.1", 6443});
  const auto t0 = Clock::now();
  auto young = sessions(b, 3, t0);
  auto old = sessions(b, 2, t0 - 2h);
  SessionRegistry registry;
  for (auto& s : young) registry.add(&s);
  for (auto& s : old) registry.add(&s);

  using Ages = std::array<std::int64_t, 5>;
  EXPECT_EQ(b.stats().session_ages(), (Ages{5, 0, 0, 0, 0})) << "before any sweep every session counts as young";
  registry.sweep(t0);
  EXPECT_EQ(b.stats().session_ages(), (Ages{3, 0, 0, 2, 0}));
  registry.sweep(t0 + 90s);
  EXPECT_EQ(b.stats().session_ages(), (Ages{0, 3, 0, 2, 0}));
  registry.sweep(t0 + 90s);  // nothing moved: nothing counted twice
  EXPECT_EQ(b.stats().session_ages(), (Ages{0, 3, 0, 2, 0}));
  registry.sweep(t0 + 4h + 1s);
  EXPECT_EQ(b.stats().session_ages(), (Ages{0, 0, 0, 3, 2}));
}

TEST(SessionAges, ReadWhileASessionEndsItIsNeverNegative) {
  pool::Backend b("cp1", HostPort{"127.0.0.1", 6443});
  auto s = sessions(b, 1, Clock::now() - 2min);
  SessionRegistry registry;
  registry.add(&s[0]);
  registry.sweep(Clock::now());
  // The session's end takes back active_sessions first (as the relay does): a reader in
  // between sees one aged session and none active; the young count stays at 0.
  b.stats().active_sessions.fetch_sub(1);
  EXPECT_EQ(b.stats().session_ages()[0], 0);
  EXPECT_EQ(b.stats().session_ages()[1], 1);
}

}  // namespace
}  // namespace kha::proxy
