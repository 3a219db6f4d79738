// Which worker serves a client just accepted. Every worker waits on one listening
// socket per address (hub.cc says why), so the worker that accepts is the one that
// was free first; that is the right one for a short connection, but in a burst the
// same worker can be free first again and again and end up holding every long-lived
// session (a keep-alive load ran on one core of two). So a worker that holds clearly
// more sessions than the least loaded other worker hands the new client over to it.
// Pure: unit tested in tests/unit/proxy/accept_balance_test.cc.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace kha::proxy {

// `mine`: the accepting worker's sessions; `others`: the other workers' (sessions plus
// clients handed to them and not yet started). Returns the index in `others` of the
// worker to hand the client to, or nothing to keep it. "Clearly more": by more than
// 2 sessions and 1/8 of its own, so that the small swings of a steady load (each
// hand-over costs a wake-up of the other thread) keep their client.
inline std::optional<std::size_t> hand_over_to(std::size_t mine, std::span<const std::size_t> others) {
  std::optional<std::size_t> least;
  for (std::size_t i = 0; i < others.size(); ++i)
    if (!least || others[i] < others[*least]) least = i;
  if (!least) return std::nullopt;
  const std::size_t margin = 2 + mine / 8;
  if (mine <= others[*least] + margin) return std::nullopt;
  return least;
}

}  // namespace kha::proxy
