// decide(): win, fail, start another attempt (retry/hedge) or wait, from what the race has seen. Pure.
#include "proxy/race_policy.h"

namespace kha::proxy {

Decision decide(const RaceSettings& s, const RaceView& r, RaceClock::time_point now) {
  Decision d;
  for (std::size_t i = 0; i < r.attempts.size(); ++i)
    if (r.attempts[i].phase == AttemptPhase::Answered) {
      d.kind = Decision::Kind::Win;
      d.winner = i;
      return d;
    }
  if (r.client_error || (r.client_eof && r.client_bytes == 0)) {
    d.kind = Decision::Kind::Fail;
    d.failure = "client went away while connecting";
    return d;
  }
  const bool hold_for_answer = s.client_first && s.first_byte_hedge.count() > 0 &&
                               r.client_bytes < s.first_bytes_max && r.replay != Replay::Unsafe;
  if (!hold_for_answer)
    for (std::size_t i = 0; i < r.attempts.size(); ++i)
      if (r.attempts[i].phase == AttemptPhase::Connected && r.attempts[i].sent == r.client_bytes) {
        d.kind = Decision::Kind::Win;
        d.winner = i;
        return d;
      }
  const AttemptView* latest = nullptr;
  for (const auto& a : r.attempts)
    if (a.phase == AttemptPhase::Connecting || a.phase == AttemptPhase::Connected) latest = &a;
  if (!latest) {
    if (r.can_start_more) {
      d.kind = Decision::Kind::Start;
      return d;
    }
    d.kind = Decision::Kind::Fail;
    d.failure = r.attempts.empty() ? "no backend available" : "every backend tried failed";
    return d;
  }
  auto deadline = RaceClock::time_point::max();
  if (r.can_start_more && r.can_hedge) {
    std::optional<RaceClock::time_point> due;
    Hedge hedge = Hedge::None;
    if (latest->phase == AttemptPhase::Connecting && s.connect_hedge.count() > 0) {
      due = latest->started + s.connect_hedge;
      hedge = Hedge::Connect;
    } else if (hold_for_answer && r.replay == Replay::Safe && latest->phase == AttemptPhase::Connected &&
               latest->first_sent) {
      due = *latest->first_sent + s.first_byte_hedge;
      hedge = Hedge::FirstByte;
    }
    if (due && now >= *due) {
      d.kind = Decision::Kind::Start;
      d.hedge = hedge;
      return d;
    }
    if (due) deadline = *due;
  }
  if (s.client_first && r.client_bytes == 0) {
    const auto idle_due = r.started + s.client_idle;
    if (now >= idle_due) {
      d.kind = Decision::Kind::Fail;
      d.failure = "client sent nothing before the idle timeout";
      return d;
    }
    if (idle_due < deadline) deadline = idle_due;
  }
  d.kind = Decision::Kind::Wait;
  d.wait_until = deadline;
  return d;
}

}  // namespace kha::proxy
