// Tracker: the rise/fall state machine of one backend (HAProxy's check.c counters,
// Envoy's HealthCheckerImplBase thresholds). Pure: no clock, no I/O, no Asio; the
// Checker (checker.h) feeds it outcomes and the Schedule (schedule.h) reads it to
// pick the next probe delay.
//
// States and rules:
//   Unknown  no outcome yet. The first outcome decides at once: success -> Up,
//            failure -> Down (a proxy started with every backend dead says so
//            after the first round, without waiting for `fall` failures).
//   Up       `fall` consecutive failures -> Down; a success resets the count.
//   Down     `rise` consecutive successes -> Up; a failure resets the count.
// Passive reports (Layer::Passive) count the moment they arrive, but never decide a
// change alone (issue #14: what clients cause must not take backends away): in Up they
// count toward `fall` up to one short of it, and only a probe's failure completes it
// (the Checker runs one at once); in Unknown they wait for the first probe. Outcomes
// of Layer::Local (kha out of descriptors or memory) say nothing of the backend and
// are not counted at all.
//
// Example, rise = 2, fall = 3:
//   outcome:  ok   fail  fail  ok   fail  fail  fail  ok   ok
//   state:    Up   Up    Up    Up   Up    Up    Down  Down  Up
//   counting: -    1/3   2/3   -    1/3   2/3   -     1/2   -
//   returns:  U->Up                         Up->Down       Down->Up
// With fall = 2, passive reports p: ok p p p fail -> Up Up(1/2) Up(1/2) Up(1/2) Down.
#pragma once

#include <cstdint>
#include <optional>

#include "health/outcome.h"

namespace kha::health {

enum class State : std::uint8_t {
  Unknown,  // no outcome recorded yet
  Up,       // receives traffic
  Down,     // receives no traffic (unless every backend is down)
};

const char* to_string(State state);

// A state change and the outcome that caused it.
struct Transition {
  State from = State::Unknown;
  State to = State::Unknown;
  Outcome outcome;
};

class Tracker {
 public:
  // rise, fall >= 1 (values below 1 are treated as 1).
  Tracker(int rise, int fall);

  // Records one outcome. Returns the transition when the state changed.
  std::optional<Transition> record(const Outcome& outcome);

  State state() const { return state_; }

  // True while a change is being counted: Up with failures, or Down with successes.
  bool counting() const { return streak_ > 0; }

  // Consecutive outcomes toward the next change (failures when Up, successes when
  // Down), and how many are needed.
  int streak() const { return streak_; }
  int needed() const { return state_ == State::Down ? rise_ : fall_; }

 private:
  int rise_;
  int fall_;
  State state_ = State::Unknown;
  int streak_ = 0;  // invariant: 0 <= streak_ < needed(); always 0 when Unknown
};

}  // namespace kha::health
