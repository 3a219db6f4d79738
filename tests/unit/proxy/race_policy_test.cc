#include "proxy/race_policy.h"

#include <gtest/gtest.h>

#include <vector>

namespace kha::proxy {
namespace {

using namespace std::chrono_literals;
using Kind = Decision::Kind;

const RaceClock::time_point t0{};

struct Race {
  RaceSettings settings;
  std::vector<AttemptView> attempts;
  std::size_t client_bytes = 0;
  bool client_eof = false;
  bool client_error = false;
  bool can_start_more = true;
  Replay replay = Replay::Safe;
  bool can_hedge = true;

  Decision at(std::chrono::milliseconds t) const {
    return decide(settings,
                  RaceView{attempts, client_bytes, client_eof, client_error, can_start_more, t0, replay, can_hedge},
                  t0 + t);
  }
};

AttemptView connecting(std::chrono::milliseconds started) { return {AttemptPhase::Connecting, t0 + started, {}, 0}; }
AttemptView connected(std::chrono::milliseconds started, std::optional<std::chrono::milliseconds> sent_at, std::size_t sent) {
  std::optional<RaceClock::time_point> first;
  if (sent_at) first = t0 + *sent_at;
  return {AttemptPhase::Connected, t0 + started, first, sent};
}
AttemptView answered() { return {AttemptPhase::Answered, t0, t0, 10}; }
AttemptView done() { return {AttemptPhase::Done, t0, {}, 0}; }

TEST(RacePolicy, FirstBackendToAnswerWins) {
  Race r;
  r.attempts = {connected(0ms, 1ms, 10), answered()};
  r.client_bytes = 10;
  auto d = r.at(300ms);
  EXPECT_EQ(d.kind, Kind::Win);
  EXPECT_EQ(d.winner, 1u);
}

TEST(RacePolicy, ClientFirstWaitsForAnAnswerUntilTheFirstByteHedge) {
  Race r;
  r.attempts = {connected(0ms, 2ms, 10)};
  r.client_bytes = 10;
  auto d = r.at(100ms);
  EXPECT_EQ(d.kind, Kind::Wait);
  EXPECT_EQ(d.wait_until, t0 + 202ms);
  d = r.at(202ms);
  EXPECT_EQ(d.kind, Kind::Start);
  EXPECT_EQ(d.hedge, Hedge::FirstByte);
}

TEST(RacePolicy, SlowConnectIsHedgedAfterTheConnectDelay) {
  Race r;
  r.attempts = {connecting(0ms)};
  EXPECT_EQ(r.at(50ms).kind, Kind::Wait);
  EXPECT_EQ(r.at(50ms).wait_until, t0 + 100ms);
  auto d = r.at(100ms);
  EXPECT_EQ(d.kind, Kind::Start);
  EXPECT_EQ(d.hedge, Hedge::Connect);
}

TEST(RacePolicy, HedgesJudgeTheNewestLiveAttempt) {
  Race r;
  r.attempts = {connecting(0ms), connecting(100ms)};
  EXPECT_EQ(r.at(150ms).wait_until, t0 + 200ms);
}

TEST(RacePolicy, NoHedgeWhenNoAttemptMayStart) {
  Race r;
  r.attempts = {connected(0ms, 2ms, 10)};
  r.client_bytes = 10;
  r.can_start_more = false;
  auto d = r.at(5s);
  EXPECT_EQ(d.kind, Kind::Wait);  // keeps waiting for the only backend, no busy loop
  EXPECT_EQ(d.wait_until, RaceClock::time_point::max());
}

TEST(RacePolicy, FailedAttemptsAreRetriedThenGiveUp) {
  Race r;
  r.attempts = {done()};
  auto d = r.at(1ms);
  EXPECT_EQ(d.kind, Kind::Start);
  EXPECT_EQ(d.hedge, Hedge::None);
  r.can_start_more = false;
  d = r.at(1ms);
  EXPECT_EQ(d.kind, Kind::Fail);
  EXPECT_EQ(d.failure, "every backend tried failed");
  r.attempts.clear();
  EXPECT_EQ(r.at(1ms).failure, "no backend available");
}

TEST(RacePolicy, ServerFirstFrontendTakesTheFirstConnection) {
  Race r;
  r.settings.client_first = false;
  r.attempts = {connecting(0ms), connected(100ms, {}, 0)};
  auto d = r.at(120ms);
  EXPECT_EQ(d.kind, Kind::Win);
  EXPECT_EQ(d.winner, 1u);
}

TEST(RacePolicy, TooManyClientBytesToReplayCommitsToTheConnectedBackend) {
  Race r;
  r.settings.first_bytes_max = 100;
  r.attempts = {connected(0ms, 1ms, 100)};
  r.client_bytes = 100;
  EXPECT_EQ(r.at(10ms).kind, Kind::Win);
  r.attempts = {connected(0ms, 1ms, 50)};  // still writing the kept bytes: wait for it
  EXPECT_EQ(r.at(10ms).kind, Kind::Wait);
}

TEST(RacePolicy, FirstByteHedgeOffCommitsOnceTheBytesAreSent) {
  Race r;
  r.settings.first_byte_hedge = 0ms;
  r.attempts = {connected(0ms, 1ms, 10)};
  r.client_bytes = 10;
  EXPECT_EQ(r.at(2ms).kind, Kind::Win);
}

TEST(RacePolicy, ClientThatLeavesEndsTheRace) {
  Race r;
  r.attempts = {connecting(0ms)};
  r.client_eof = true;
  EXPECT_EQ(r.at(1ms).kind, Kind::Fail);
  r.client_bytes = 5;  // sent a request, then half-closed: keep going
  EXPECT_EQ(r.at(1ms).kind, Kind::Wait);
  r.client_error = true;
  EXPECT_EQ(r.at(1ms).failure, "client went away while connecting");
}

TEST(RacePolicy, SilentClientTimesOutAtTheIdleTimeout) {
  Race r;
  r.settings.client_idle = 10s;
  r.attempts = {connected(0ms, {}, 0)};
  r.can_start_more = false;
  EXPECT_EQ(r.at(1s).wait_until, t0 + 10s);
  auto d = r.at(10s);
  EXPECT_EQ(d.kind, Kind::Fail);
  EXPECT_EQ(d.failure, "client sent nothing before the idle timeout");
}

// Issue #14: plain text (a POST) is never sent to a second backend; the first
// backend that took it wins at once, as for a server-first protocol.
TEST(RacePolicy, BytesThatAreNotAClientHelloGoToOneBackendOnly) {
  Race r;
  r.replay = Replay::Unsafe;
  r.client_bytes = 40;
  r.attempts = {connected(0ms, 1ms, 40)};
  const Decision d = r.at(500ms);
  EXPECT_EQ(d.kind, Kind::Win);
  EXPECT_EQ(d.winner, 0u);
}

TEST(RacePolicy, APartialHelloWaitsButIsNotHedged) {
  Race r;
  r.replay = Replay::Pending;
  r.client_bytes = 100;
  r.attempts = {connected(0ms, 1ms, 100)};
  const Decision d = r.at(5s);
  EXPECT_EQ(d.kind, Kind::Wait);  // the rest of the hello is to come: no winner yet, no hedge
  r.replay = Replay::Safe;
  EXPECT_EQ(r.at(201ms).kind, Kind::Start);  // whole: hedged after first_byte_hedge
}

TEST(RacePolicy, NoHedgeOnceTheBudgetRefusedButRetriesStill) {
  Race r;
  r.can_hedge = false;
  r.client_bytes = 100;
  r.attempts = {connected(0ms, 1ms, 100)};
  EXPECT_EQ(r.at(5s).kind, Kind::Wait);  // silent backend, no hedge
  r.attempts = {connecting(0ms)};
  EXPECT_EQ(r.at(150ms).kind, Kind::Wait);  // slow connect, no hedge
  r.attempts = {done()};
  EXPECT_EQ(r.at(150ms).kind, Kind::Start);  // a failed attempt is retried
}

}  // namespace
}  // namespace kha::proxy
