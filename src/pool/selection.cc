// select_backend(): roundrobin or leastconn over up, untried backends (slow start's share
// drawn per pick); if none is up, over all untried.
#include "pool/selection.h"

#include <algorithm>

namespace kha::pool {

namespace {

// A uniform draw in [0, 1) for backend `i` at this pick: splitmix64 of the cursor, so
// consecutive picks are independent and a test can replay them.
double draw(std::uint64_t cursor, std::size_t i) {
  std::uint64_t z = cursor * 0x9E3779B97F4A7C15ULL + i + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

std::optional<std::size_t> pick_among(std::span<const Candidate> backends, config::Balance balance,
                                      std::uint64_t rr_cursor, bool ignore_health, bool slow_start) {
  const std::size_t n = backends.size();
  std::optional<std::size_t> best;
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t i = (rr_cursor + step) % n;
    const auto& b = backends[i];
    if (b.excluded || (!ignore_health && !b.up)) continue;
    if (slow_start && b.admit < 1.0 && draw(rr_cursor, i) >= b.admit) continue;
    if (balance == config::Balance::RoundRobin) return i;
    if (!best || b.active_sessions < backends[*best].active_sessions) best = i;
  }
  return best;
}

}  // namespace

double slow_start_admit(std::chrono::nanoseconds elapsed, std::chrono::milliseconds window) {
  if (window.count() <= 0 || elapsed >= window) return 1.0;
  const double share = std::chrono::duration<double>(elapsed) / std::chrono::duration<double>(window);
  return std::clamp(share, 0.1, 1.0);
}

std::optional<Choice> select_backend(std::span<const Candidate> backends, config::Balance balance,
                                     std::uint64_t rr_cursor) {
  if (backends.empty()) return std::nullopt;
  bool any_up = false;
  for (const auto& b : backends) any_up |= (b.up && !b.excluded);
  const bool ignore_health = !any_up;
  auto best = pick_among(backends, balance, rr_cursor, ignore_health, true);
  if (!best) best = pick_among(backends, balance, rr_cursor, ignore_health, false);
  if (!best) return std::nullopt;
  return Choice{*best, ignore_health};
}

}  // namespace kha::pool
