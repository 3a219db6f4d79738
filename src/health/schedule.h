// Schedule: when the next probe of a backend runs, from the Tracker's state.
// Pure: the random source is injected, so tests script it.
//
// Timing rule:
//   Unknown                    0 (the first probe runs at start)
//   Up, nothing counted        interval
//   counting toward a change   transition_interval (Up with failures, Down with successes)
//   Down, nothing counted      down_interval; once down for 10 s and 10 probes,
//                              doubling up to down_interval_max (down_delay)
// then jitter: delay * (1 + jitter * (2r - 1)) with r uniform in [0, 1), i.e.
// +-jitter of the delay, so a thousand nodes do not probe in step; a backed-off down
// delay is drawn from [delay/2, delay] instead (the nodes started backing off together),
// and the delay after the first probe from [0, delay] (nodes restarted together). A passive
// failure pulls the next probe to now + transition_interval (Checker's job).
//
// Worked example, interval 1s, transition_interval 250ms, down_interval 1s,
// rise 2, fall 2, jitter 0, backend dies at t = 1.1s, comes back at t = 4s:
//   t=0      probe ok   Unknown -> Up      next in 1s
//   t=1.0    probe ok   Up                 next in 1s
//   t=2.0    probe fail Up (1/2)           next in 250ms
//   t=2.25   probe fail Up -> Down         next in 1s
//   t=3.25   probe fail Down               next in 1s
//   t=4.25   probe ok   Down (1/2)         next in 250ms
//   t=4.5    probe ok   Down -> Up         next in 1s
// Detection takes at most interval + transition_interval + 2 * timeout (3.25s
// with the defaults and a hung backend); a client connect that fails on the
// dead backend in between counts at once and shortens that (passive report).
#pragma once

#include <cstdint>
#include <functional>

#include "common/duration.h"
#include "config/schema.h"
#include "health/tracker.h"

namespace kha::health {

struct Intervals {
  Millis interval{1000};
  Millis transition_interval{250};
  Millis down_interval{1000};
  double jitter = 0.1;  // 0..0.5; clamped
  Millis down_interval_max{8000};  // the down probes' backoff stops here (see down_delay)

  static Intervals from(const config::HealthCheck& check);
};

class Schedule {
 public:
  // Uniform in [0, 1). Called once per next_delay() when jitter > 0.
  using Random = std::function<double()>;

  // A null random source means "no jitter".
  Schedule(Intervals intervals, Random random);

  // The delay before the next probe, per the timing rule, without jitter.
  Millis base_delay(const Tracker& tracker) const;

  // base_delay() with the down backoff and jitter applied. Call once per probe: it
  // counts the probes of a backend that stays down.
  Millis next_delay(const Tracker& tracker);

  // The delay after the `probes`-th probe (0-based) of a backend that stays down:
  // down_interval until it has been down for 10 s and 10 probes (a blip comes back at
  // the usual pace), then doubling up to down_interval_max. A restarted apiserver has
  // lost its TLS session tickets, so every node's first probe of it is a full handshake:
  // the backoff spreads them over down_interval_max instead of one down_interval.
  static Millis down_delay(const Intervals& intervals, std::int64_t probes);

  // delay * (1 + jitter * (2r - 1)), rounded to the millisecond; r clamped to [0, 1].
  static Millis apply_jitter(Millis delay, double jitter, double r);

  const Intervals& intervals() const { return intervals_; }

 private:
  Intervals intervals_;
  Random random_;
  std::int64_t down_probes_ = 0;  // consecutive probes of a backend that is down, nothing counted
  bool first_ = true;             // the next delay follows the first probe
};

// A Random seeded from std::random_device; each call yields uniform [0, 1).
Schedule::Random make_default_random();

}  // namespace kha::health
