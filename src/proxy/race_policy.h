// RacePolicy: the decisions of the upstream race (session.h), as a pure
// function of what the race has seen so far, so that retry and hedge rules are unit
// tested without sockets or clocks.
//
// Rules, checked in order on every change and at every deadline:
//  1. A backend that sent a byte wins (the first in attempt order).
//  2. The client went away (error, or EOF before sending anything): fail.
//  3. When the client's bytes cannot be replayed (server-first frontend, first-byte
//     hedging off, more than first_bytes_max kept, or bytes that are not a TLS
//     ClientHello nor its beginning: Replay::Unsafe), the first connected attempt
//     that was sent every kept byte wins: nothing can be gained by waiting.
//  4. No attempt is alive: start another (retry) if one may start, else fail.
//  5. Hedges, only while another attempt may start, judged on the newest live attempt:
//     - still connecting connect_hedge after it started: start another;
//     - connected, sent the client's bytes, silent first_byte_hedge after: start another,
//       only once those bytes are a whole ClientHello (Replay::Safe).
//     Neither when the frontend's hedge budget is spent (can_hedge false).
//  6. A client-first session whose client sent nothing for the idle timeout fails.
//  7. Otherwise wait until the earliest deadline of 5 and 6.
// Worked example (defaults: hedges 100 ms / 200 ms, 3 attempts): backend A is hung.
// t=0 connect A; t=1ms connected; t=2ms ClientHello sent to A; t=202ms rule 5 starts
// B; B connects and is sent the same bytes; t=205ms B answers and wins (rule 1).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace kha::proxy {

struct RaceSettings {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds connect_hedge{100};     // 0 = off
  std::chrono::milliseconds first_byte_hedge{200};  // 0 = off
  std::size_t first_bytes_max = 16384;
  int max_attempts = 3;
  bool client_first = true;
  std::chrono::milliseconds client_idle{std::chrono::hours(3)};
  bool replay_any = false;  // hedge.replay: any (the frontend's protocol is idempotent)
  std::chrono::milliseconds slow_start{0};  // a returning backend's ramp (pool::slow_start_admit)
};

using RaceClock = std::chrono::steady_clock;

enum class AttemptPhase { Connecting, Connected, Answered, Done };  // Done: failed or abandoned

struct AttemptView {
  AttemptPhase phase = AttemptPhase::Connecting;
  RaceClock::time_point started;
  std::optional<RaceClock::time_point> first_sent;  // when client bytes were first written
  std::size_t sent = 0;                             // client bytes handed to this backend
};

// Whether the client's bytes may be sent to a second backend (first_bytes.h).
enum class Replay {
  Pending,  // nothing yet, or the beginning of a TLS ClientHello: wait for the rest
  Safe,     // a whole ClientHello (or the frontend declared its protocol replayable)
  Unsafe,   // anything else: one backend only
};

struct RaceView {
  std::span<const AttemptView> attempts;
  std::size_t client_bytes = 0;
  bool client_eof = false;
  bool client_error = false;
  bool can_start_more = true;  // false once max_attempts is reached or no backend is left
  RaceClock::time_point started;
  Replay replay = Replay::Safe;
  bool can_hedge = true;  // false once the frontend's hedge budget refused (hedge_budget.h)
};

enum class Hedge { None, Connect, FirstByte };

struct Decision {
  enum class Kind { Win, Start, Fail, Wait } kind = Kind::Wait;
  std::size_t winner = 0;            // Win
  Hedge hedge = Hedge::None;         // Start: why (None = a retry after failures)
  std::string failure;               // Fail
  RaceClock::time_point wait_until;  // Wait (time_point::max() = until something happens)
};

Decision decide(const RaceSettings& settings, const RaceView& race, RaceClock::time_point now);

}  // namespace kha::proxy
