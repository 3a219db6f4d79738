// SessionRegistry: closing a worker's sessions by backend (down, drained, rebalanced),
// the idle sweep (with the age buckets) and the deferred liveness options.
#include "proxy/session_registry.h"

#include <algorithm>
#include <vector>

#include "proxy/socket_options.h"

namespace kha::proxy {

void SessionControl::close() {
  if (closing) return;
  closing = true;
  if (on_close) on_close(owner);
}

std::size_t SessionRegistry::close_some(const pool::Backend* backend, std::size_t max) {
  std::size_t closed = 0;
  for (auto* s : sessions_) {
    if (closed == max) break;
    if (s->closing || (backend && s->backend != backend)) continue;
    s->close();
    ++closed;
  }
  return closed;
}

std::size_t SessionRegistry::sweep(std::chrono::steady_clock::time_point now) {
  std::size_t closed = 0;
  for (auto* s : sessions_) {
    if (const int bucket = pool::aged_bucket(now - s->started); bucket != s->aged_bucket && s->backend) {
      auto& aged = s->backend->stats().aged_sessions;
      if (s->aged_bucket >= 0) aged[static_cast<std::size_t>(s->aged_bucket)].fetch_sub(1, std::memory_order_relaxed);
      if (bucket >= 0) aged[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
      s->aged_bucket = bucket;
    }
    if (s->upstream_fd >= 0 && now - s->started >= kLivenessAfter) {
      tune_session_socket(s->upstream_fd);  // the session owns the descriptor while registered
      s->upstream_fd = -1;
    }
    if (s->closing || s->idle.count() <= 0 || now - s->last_activity < s->idle) continue;
    s->close();
    ++closed;
  }
  return closed;
}

std::size_t SessionRegistry::close_quiet(const pool::Backend* backend, std::size_t max,
                                         std::chrono::steady_clock::time_point now, std::chrono::milliseconds quiet) {
  std::vector<SessionControl*> quiet_ones;
  for (auto* s : sessions_) {
    if (s->closing || s->backend != backend || now - s->last_activity < quiet) continue;
    if (s->holds_bytes && s->holds_bytes(s->owner)) continue;
    quiet_ones.push_back(s);
  }
  const std::size_t n = std::min(max, quiet_ones.size());
  std::partial_sort(quiet_ones.begin(), quiet_ones.begin() + static_cast<std::ptrdiff_t>(n), quiet_ones.end(),
                    [](const SessionControl* a, const SessionControl* b) { return a->started > b->started; });
  for (std::size_t i = 0; i < n; ++i) quiet_ones[i]->close();
  return n;
}

std::size_t SessionRegistry::count(const pool::Backend* backend) const {
  std::size_t n = 0;
  for (auto* s : sessions_)
    if (!s->closing && (!backend || s->backend == backend)) ++n;
  return n;
}

}  // namespace kha::proxy
