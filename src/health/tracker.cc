// Tracker::record(): rise/fall counting; a passive failure needs a probe to confirm the last step down.
#include "health/tracker.h"

#include <algorithm>

namespace kha::health {

const char* to_string(State state) {
  switch (state) {
    case State::Unknown: return "unknown";
    case State::Up: return "up";
    case State::Down: return "down";
  }
  return "?";
}

Tracker::Tracker(int rise, int fall) : rise_(std::max(rise, 1)), fall_(std::max(fall, 1)) {}

std::optional<Transition> Tracker::record(const Outcome& outcome) {
  const State before = state_;
  if (outcome.layer == Layer::Local) return std::nullopt;
  const bool passive = !outcome.ok && outcome.layer == Layer::Passive;
  switch (state_) {
    case State::Unknown:
      if (passive) return std::nullopt;
      state_ = outcome.ok ? State::Up : State::Down;
      streak_ = 0;
      break;
    case State::Up:
      if (outcome.ok) {
        streak_ = 0;
      } else if (passive && streak_ + 1 >= fall_) {
        streak_ = fall_ - 1;  // a probe must confirm (see the header)
      } else if (++streak_ >= fall_) {
        state_ = State::Down;
        streak_ = 0;
      }
      break;
    case State::Down:
      if (!outcome.ok) {
        streak_ = 0;
      } else if (++streak_ >= rise_) {
        state_ = State::Up;
        streak_ = 0;
      }
      break;
  }
  if (state_ == before) return std::nullopt;
  return Transition{before, state_, outcome};
}

}  // namespace kha::health
