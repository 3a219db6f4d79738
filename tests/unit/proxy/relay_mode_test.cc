#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

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

TEST(SessionRegistry, SweepClosesOnlyTheSessionsPastTheirTimeout) {
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
  EXPECT_EQ(r.sweep(now), 1u);
  EXPECT_TRUE(quiet.closing);
  EXPECT_FALSE(busy.closing);
  EXPECT_FALSE(no_timeout.closing);
  EXPECT_EQ(r.sweep(now), 0u);
}

int option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

TEST(SessionRegistry, SweepArmsLivenessOnUpstreamSocketsThatOutliveTheDelay) {
  const auto now = std::chrono::steady_clock::now();
  const int young_fd = ::socket(AF_INET, SOCK_STREAM, 0), old_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(young_fd, 0);
  ASSERT_GE(old_fd, 0);
  SessionControl young{}, old{};
  young.upstream_fd = young_fd;
  young.started = now - SessionRegistry::kLivenessAfter + 1ms;
  old.upstream_fd = old_fd;
  old.started = now - SessionRegistry::kLivenessAfter;
  SessionRegistry r;
  r.add(&young);
  r.add(&old);
  r.sweep(now);
  EXPECT_EQ(option(old_fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(option(old_fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
  EXPECT_EQ(option(old_fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 30'000);
  EXPECT_EQ(old.upstream_fd, -1);  // done once
  EXPECT_EQ(option(young_fd, SOL_SOCKET, SO_KEEPALIVE), 0);  // a short session never pays for them
  EXPECT_EQ(young.upstream_fd, young_fd);
  r.sweep(now + 1ms);
  EXPECT_EQ(option(young_fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  ::close(young_fd);
  ::close(old_fd);
}

}  // namespace
}  // namespace kha::proxy
