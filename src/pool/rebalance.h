// rebalance_plan: how many long-lived sessions to close on which backend so that a
// frontend's sessions spread evenly again after a backend came back (issue #17). The
// closed clients reconnect and leastconn puts them on the emptier backends. Pure: no
// sockets, no clocks; the frontend's owner (daemon/frontend_owner.h) runs it every
// second and asks the workers to close quiet sessions (proxy/session_registry.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kha::pool {

struct RebalanceLimits {
  int max_skew_percent = 120;  // act when the fullest backend holds more than this % of the emptiest
  std::size_t budget = 1;      // sessions that may be closed this round, all backends together
};

// `sessions`: the sessions each healthy, settled backend holds now. Returns how many to
// close on each (same order); all zero when the spread is within max_skew. Closes only
// the surplus over the even share, fullest backend first, never more than `budget`.
std::vector<std::size_t> rebalance_plan(std::span<const std::int64_t> sessions, const RebalanceLimits& limits);

// How skewed a frontend's sessions are: the fullest backend's sessions over the emptiest's
// (an empty one counts as 1), over the healthy backends; 1 with fewer than two.
double session_skew(std::span<const std::int64_t> sessions);

// The round's budget: `percent` of the frontend's sessions per second, at least one.
std::size_t rebalance_budget(std::int64_t total_sessions, int percent);

}  // namespace kha::pool
