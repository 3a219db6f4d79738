// close_pacing(): how a worker spreads the closing of the sessions pinned to a backend
// that went down over a window, so that their clients (watches that reconnect and
// re-list at once) do not all land on the surviving apiservers in the same instant,
// from every node (kubernetes#65954). Pure: no clocks, the jitter is drawn by the caller.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace kha::proxy {

struct ClosePacing {
  std::size_t batch = 0;                // sessions closed per step
  std::chrono::milliseconds interval{0};  // between steps
  std::chrono::milliseconds first{0};     // before the first step: the jitter
};

// `total` sessions over `window` (0: all at once), in steps at least 10 ms apart; `draw`
// in [0, 1) places the first step inside the first interval, so that workers and
// nodes detecting the same failure do not close in step. The last step is at most
// `window` after the call.
inline ClosePacing close_pacing(std::size_t total, std::chrono::milliseconds window, double draw) {
  using std::chrono::milliseconds;
  if (total == 0 || window <= milliseconds(0)) return {std::max<std::size_t>(total, 1), milliseconds(0), milliseconds(0)};
  const auto most_steps = static_cast<std::size_t>(std::max<std::int64_t>(window.count() / 10, 1));
  const std::size_t steps = std::min(total, most_steps);
  const std::size_t batch = (total + steps - 1) / steps;
  const milliseconds interval(window.count() / static_cast<std::int64_t>(steps));
  const milliseconds first(static_cast<std::int64_t>(std::clamp(draw, 0.0, 1.0) * static_cast<double>(interval.count())));
  return {batch, interval, std::min(first, interval)};
}

}  // namespace kha::proxy
