// SessionRegistry: close a backend's sessions (or all), the idle sweep that also arms upstream liveness.
#include "proxy/session_registry.h"

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

std::size_t SessionRegistry::count(const pool::Backend* backend) const {
  std::size_t n = 0;
  for (auto* s : sessions_)
    if (!s->closing && (!backend || s->backend == backend)) ++n;
  return n;
}

}  // namespace kha::proxy
