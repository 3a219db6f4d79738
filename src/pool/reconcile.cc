// reconcile(): the add/keep/drain decision for one frontend's backend set.
#include "pool/reconcile.h"

#include <algorithm>

namespace kha::pool {

std::size_t Reconciled::added() const {
  return static_cast<std::size_t>(
      std::count_if(next.begin(), next.end(), [](const Slot& s) { return s.current == kAdd; }));
}

bool Reconciled::changes_anything(std::size_t current_size) const {
  if (!drain.empty() || next.size() != current_size) return true;
  for (std::size_t i = 0; i < next.size(); ++i)
    if (next[i].current != i) return true;  // added, or reordered
  return false;
}

// Quadratic on purpose: a frontend has a handful of backends (the control plane's
// members), and the order of both lists matters more than speed.
Reconciled reconcile(std::span<const BackendKey> current, std::span<const BackendKey> desired) {
  Reconciled r;
  std::vector<bool> taken(current.size(), false);
  for (std::size_t d = 0; d < desired.size(); ++d) {
    const bool repeated = std::any_of(r.next.begin(), r.next.end(),
                                      [&](const Reconciled::Slot& s) { return desired[s.desired] == desired[d]; });
    if (repeated) continue;
    std::size_t from = Reconciled::kAdd;
    for (std::size_t c = 0; c < current.size(); ++c)
      if (!taken[c] && current[c] == desired[d]) {
        from = c;
        taken[c] = true;
        break;
      }
    r.next.push_back({d, from});
  }
  for (std::size_t c = 0; c < current.size(); ++c)
    if (!taken[c]) r.drain.push_back(c);
  return r;
}

}  // namespace kha::pool
