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
#pragma once

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
};

struct Choice {
  std::size_t index = 0;
  bool ignoring_health = false;  // true when no candidate was up (rule 1's fallback)
};

std::optional<Choice> select_backend(std::span<const Candidate> backends, config::Balance balance,
                                     std::uint64_t rr_cursor);

}  // namespace kha::pool
