// Selection: which backend gets the next session. Pure: no sockets, no clocks.
//
// Rules, in order:
//  1. Candidates are the backends that are up and not excluded (already tried for
//     this client). If none is up, every non-excluded backend is a candidate: when a
//     whole frontend looks down, trying them all beats refusing every client.
//  2. roundrobin: the first candidate at or after `rr_cursor` (mod n), so the order
//     is stable and spreads load evenly (the document's HAProxy example).
//     leastconn: the candidate with the fewest active sessions (connects in flight
//     included); ties go to the
//     first at or after `rr_cursor`, so equal backends still rotate (nginx least_conn).
//  3. A backend in slow start (admit < 1) is a candidate for one pick only with
//     probability `admit` (drawn from the cursor: deterministic per pick), under both
//     policies: leastconn alone would hand an empty returning backend every new session.
//     When that leaves no candidate (it is the only one up), it is taken anyway.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "config/schema.h"

namespace kha::pool {

struct Candidate {
  bool up = true;
  bool excluded = false;
  std::int64_t active_sessions = 0;
  double admit = 1.0;  // (0, 1]: slow start's share, slow_start_admit()
};

struct Choice {
  std::size_t index = 0;
  bool ignoring_health = false;  // true when no candidate was up (rule 1's fallback)
};

// The share of new sessions a backend up for `elapsed` is offered with a slow start of
// `window`: from 10% (not 0: it must see some traffic to be judged) to 100%, linearly.
double slow_start_admit(std::chrono::nanoseconds elapsed, std::chrono::milliseconds window);

std::optional<Choice> select_backend(std::span<const Candidate> backends, config::Balance balance,
                                     std::uint64_t rr_cursor);

}  // namespace kha::pool
