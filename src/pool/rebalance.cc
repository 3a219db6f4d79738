// rebalance_plan: the surplus of the fullest backends, closed a budget at a time.
#include "pool/rebalance.h"

#include <algorithm>

namespace kha::pool {

std::vector<std::size_t> rebalance_plan(std::span<const std::int64_t> sessions, const RebalanceLimits& limits) {
  std::vector<std::size_t> close(sessions.size(), 0);
  if (sessions.size() < 2 || limits.budget == 0) return close;
  std::vector<std::int64_t> now(sessions.begin(), sessions.end());
  for (auto& s : now) s = std::max<std::int64_t>(s, 0);
  std::int64_t total = 0;
  for (const auto s : now) total += s;
  const auto n = static_cast<std::int64_t>(now.size());
  // The even share, rounded up: a backend at or below it has no surplus.
  const std::int64_t share = (total + n - 1) / n;
  const auto [lo, hi] = std::minmax_element(now.begin(), now.end());
  // Within the skew (an empty backend against one with a single session is too).
  if (*hi <= share || *hi * 100 <= static_cast<std::int64_t>(limits.max_skew_percent) * *lo) return close;
  for (std::size_t left = limits.budget; left > 0; --left) {
    const auto fullest = std::max_element(now.begin(), now.end());
    if (*fullest <= share) break;
    --*fullest;
    ++close[static_cast<std::size_t>(fullest - now.begin())];
  }
  return close;
}

double session_skew(std::span<const std::int64_t> sessions) {
  if (sessions.size() < 2) return 1.0;
  const auto [lo, hi] = std::minmax_element(sessions.begin(), sessions.end());
  const auto most = std::max<std::int64_t>(*hi, 0);
  if (most == 0) return 1.0;
  return static_cast<double>(most) / static_cast<double>(std::max<std::int64_t>(*lo, 1));
}

std::size_t rebalance_budget(std::int64_t total_sessions, int percent) {
  const std::int64_t b = std::max<std::int64_t>(total_sessions, 0) * std::max(percent, 0) / 100;
  return static_cast<std::size_t>(std::max<std::int64_t>(b, 1));
}

}  // namespace kha::pool
