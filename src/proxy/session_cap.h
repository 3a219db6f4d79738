// SessionCap: how many client sessions the whole process may hold, so that kha never
// runs out of descriptors for its own work (health probes, the admin endpoint, a
// reload's new listeners, splice pipes) because clients took them all: issue #14, where
// 1,100 clients made every probe fail with "Too many open files" and every backend was
// blamed for it. At the cap the workers stop accepting for a moment: new clients wait
// in the listen backlog instead of being accepted and dropped. Shared by every worker.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace kha::proxy {

// Descriptors kept for kha's own work whatever the limit: a probe per backend and
// frontend, the admin endpoint's connections, a reload, the pipe pool.
constexpr std::size_t kReservedDescriptors = 256;

// A session holds up to three descriptors while it races (the client and two
// attempts; a third attempt replaces a failed one) and two once it relays, plus a
// splice pipe (two) while bytes are in flight: three on average is the safe divisor.
constexpr std::size_t sessions_for_descriptors(std::size_t open_files_limit) {
  const std::size_t reserve = std::max(kReservedDescriptors, open_files_limit / 10);
  return open_files_limit > reserve + 3 ? (open_files_limit - reserve) / 3 : 1;
}

struct SessionCap {
  std::atomic<std::size_t> limit{0};        // 0 = no cap
  std::atomic<std::uint64_t> pauses{0};     // times a worker stopped accepting at the cap
};

}  // namespace kha::proxy
