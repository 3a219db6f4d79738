// judge_resolution(): what one answer for a backend's name means for the addresses kha
// publishes for it (the one view its checker and the data path share). Pure.
//
// Rules (why):
//  - The answer is compared as a set: DNS round robin rotates the order on every query,
//    and a rotation is no change (no checker restart, no log line).
//  - A failed or empty answer keeps the last good addresses: a DNS outage must not take
//    the API away from a node whose apiservers still answer (what nginx and HAProxy do
//    with the address they resolved at start). Only a name that never resolved leaves
//    the backend without addresses (down until it does).
//  - At most kMaxResolved addresses are kept, the first ones: a session tries them in
//    order, each up to the connect timeout, so a name with hundreds of records (a
//    mistake, or a hostile DNS answer) must not make one client wait for all of them.
//    Which ones: the first in sorted order, so that a rotating answer keeps the same
//    subset (no checker restart every interval).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace kha::pool {

enum class ResolutionEvent {
  First,          // the first addresses: publish, start checking
  Changed,        // another set: publish, restart the checker, log the change
  Unchanged,      // the same set (perhaps reordered): nothing to do
  FailedKeeping,  // no answer; the last good addresses stay published
  FailedNone,     // no answer and none before: the backend stays without addresses
};

inline constexpr std::size_t kMaxResolved = 16;

struct Resolution {
  ResolutionEvent event = ResolutionEvent::Unchanged;
  std::vector<std::string> publish;  // the addresses to publish (First, Changed); else empty
  std::size_t dropped = 0;           // addresses past kMaxResolved in this answer, not kept
};

// `previous`: the published addresses (empty before the first answer); `found`: the
// canonical IP texts of this answer in the resolver's order (empty when it failed).
Resolution judge_resolution(const std::vector<std::string>& previous, std::vector<std::string> found);

// "10.0.0.1, 10.0.0.2" for logs ("none" when empty).
std::string join_addresses(const std::vector<std::string>& addresses);

}  // namespace kha::pool
