#include <gtest/gtest.h>

#include "proxy/leg_mode.h"
#include "proxy/session_registry.h"

namespace kha::proxy {
namespace {

using namespace std::chrono_literals;

TEST(NextLegMode, SmallMessagesStayOnTheCopyPath) {
  EXPECT_EQ(next_leg_mode(LegMode::Copy, 0, true), LegMode::Copy);
  EXPECT_EQ(next_leg_mode(LegMode::Copy, 700, true), LegMode::Copy);
  EXPECT_EQ(next_leg_mode(LegMode::Copy, kCopyChunk - 1, true), LegMode::Copy);
}

TEST(NextLegMode, AFullChunkSwitchesToSplice) {
  EXPECT_EQ(next_leg_mode(LegMode::Copy, kCopyChunk, true), LegMode::Splice);
  EXPECT_EQ(next_leg_mode(LegMode::Copy, 10 * kCopyChunk, true), LegMode::Splice);
}

TEST(NextLegMode, SpliceStaysForBulkAndFallsBackBelowTheThreshold) {
  EXPECT_EQ(next_leg_mode(LegMode::Splice, kBackToCopyBelow, true), LegMode::Splice);
  EXPECT_EQ(next_leg_mode(LegMode::Splice, 1 << 20, true), LegMode::Splice);
  EXPECT_EQ(next_leg_mode(LegMode::Splice, kBackToCopyBelow - 1, true), LegMode::Copy);
  EXPECT_EQ(next_leg_mode(LegMode::Splice, 0, true), LegMode::Copy);
}

TEST(NextLegMode, SpliceOffMeansCopyAlways) {
  EXPECT_EQ(next_leg_mode(LegMode::Copy, 10 * kCopyChunk, false), LegMode::Copy);
  EXPECT_EQ(next_leg_mode(LegMode::Splice, 1 << 20, false), LegMode::Copy);
}

TEST(SessionRegistry, CloseIdleClosesOnlyTheSessionsPastTheirTimeout) {
  const auto now = std::chrono::steady_clock::now();
  SessionControl quiet{}, busy{}, no_timeout{}, closing{};
  quiet.idle = busy.idle = closing.idle = 10s;
  quiet.last_activity = now - 11s;
  busy.last_activity = now - 9s;
  no_timeout.last_activity = now - 100h;  // idle 0: never times out
  closing.last_activity = now - 11s;
  closing.closing = true;  // already on its way out: not counted again
  SessionRegistry r;
  for (auto* s : {&quiet, &busy, &no_timeout, &closing}) r.add(s);
  EXPECT_EQ(r.close_idle(now), 1u);
  EXPECT_TRUE(quiet.closing);
  EXPECT_FALSE(busy.closing);
  EXPECT_FALSE(no_timeout.closing);
  EXPECT_EQ(r.close_idle(now), 0u);
}

}  // namespace
}  // namespace kha::proxy
