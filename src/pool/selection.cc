// select_backend(): roundrobin or leastconn over up, untried backends; if none is up, over all untried.
#include "pool/selection.h"

namespace kha::pool {

std::optional<Choice> select_backend(std::span<const Candidate> backends, config::Balance balance,
                                     std::uint64_t rr_cursor) {
  const std::size_t n = backends.size();
  if (n == 0) return std::nullopt;
  bool any_up = false;
  for (const auto& b : backends) any_up |= (b.up && !b.excluded);
  const bool ignore_health = !any_up;

  std::optional<std::size_t> best;
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t i = (rr_cursor + step) % n;
    const auto& b = backends[i];
    if (b.excluded || (!ignore_health && !b.up)) continue;
    if (balance == config::Balance::RoundRobin) return Choice{i, ignore_health};
    if (!best || b.active_sessions < backends[*best].active_sessions) best = i;
  }
  if (!best) return std::nullopt;
  return Choice{*best, ignore_health};
}

}  // namespace kha::pool
