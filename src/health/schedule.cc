// Schedule: the next probe's delay from the Tracker's state (interval, transition, down), plus jitter.
#include "health/schedule.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace kha::health {

Intervals Intervals::from(const config::HealthCheck& check) {
  return Intervals{check.interval, check.transition_interval, check.down_interval, check.jitter};
}

Schedule::Schedule(Intervals intervals, Random random)
    : intervals_(intervals), random_(std::move(random)) {
  intervals_.jitter = std::clamp(intervals_.jitter, 0.0, 0.5);
}

Millis Schedule::base_delay(const Tracker& tracker) const {
  switch (tracker.state()) {
    case State::Unknown: return Millis(0);
    case State::Up:
      return tracker.counting() ? intervals_.transition_interval : intervals_.interval;
    case State::Down:
      return tracker.counting() ? intervals_.transition_interval : intervals_.down_interval;
  }
  return intervals_.interval;
}

Millis Schedule::next_delay(const Tracker& tracker) {
  const Millis base = base_delay(tracker);
  if (!random_ || intervals_.jitter <= 0.0 || base.count() == 0) return base;
  return apply_jitter(base, intervals_.jitter, random_());
}

Millis Schedule::apply_jitter(Millis delay, double jitter, double r) {
  r = std::clamp(r, 0.0, 1.0);
  const double factor = 1.0 + jitter * (2.0 * r - 1.0);
  const double ms = std::round(static_cast<double>(delay.count()) * factor);
  return Millis(std::max<long long>(0, static_cast<long long>(ms)));
}

Schedule::Random make_default_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace kha::health
