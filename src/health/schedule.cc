// Schedule: the next probe's delay from the Tracker's state (interval, transition, down), plus jitter.
#include "health/schedule.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <utility>

namespace kha::health {

Intervals Intervals::from(const config::HealthCheck& check) {
  return Intervals{check.interval, check.transition_interval, check.down_interval, check.jitter,
                   check.down_interval_max};
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

Millis Schedule::down_delay(const Intervals& intervals, std::int64_t probes) {
  const Millis step = std::max(intervals.down_interval, Millis(1));
  const Millis most = std::max(intervals.down_interval_max, step);
  const std::int64_t settle = std::max<std::int64_t>(10, (10000 + step.count() - 1) / step.count());  // 10 s, 10 probes
  Millis delay = step;
  for (std::int64_t i = settle; i <= probes && delay < most; ++i) delay = std::min(most, delay * 2);
  return delay;
}

Millis Schedule::next_delay(const Tracker& tracker) {
  Millis base = base_delay(tracker);
  bool backing_off = false;
  if (tracker.state() == State::Down && !tracker.counting()) {
    base = down_delay(intervals_, down_probes_++);
    backing_off = base > intervals_.down_interval;
  } else {
    down_probes_ = 0;
  }
  const bool first = std::exchange(first_, false);
  if (!random_ || intervals_.jitter <= 0.0 || base.count() == 0) return base;  // jitter 0: no randomness at all
  // After the first probe (at start, at once): anywhere in [0, delay], so that a fleet
  // restarted together (a rollout, a power cut) probes out of step from the second probe
  // on; +-jitter alone would take many intervals to pull them apart.
  if (first) return apply_jitter(base / 2, 1.0, random_());
  // Backing off: every node's probes started backing off at the same failure, so +-10%
  // would keep them in step; a delay anywhere in [base/2, base] scatters them over the
  // window within a few probes (the point of the backoff: spread the return).
  if (backing_off) return apply_jitter(base * 3 / 4, 1.0 / 3.0, random_());
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
