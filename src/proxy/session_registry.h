// SessionRegistry: the live sessions of one worker, so that others can ask them to
// close (their backend went down, shutdown). Non-owning: a session registers a
// handle to its own control block and removes it when it ends. Worker thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>

#include "pool/backend.h"

namespace kha::proxy {

// A session's close switch. The relay owns it; close() marks it closing and asks the
// relay (on_close) to end, which it does after its current batch of events.
struct SessionControl {
  const pool::Backend* backend = nullptr;
  bool closing = false;
  std::chrono::milliseconds idle{0};                    // 0 = no idle timeout
  std::chrono::steady_clock::time_point last_activity;  // last byte either way
  // How the owner ends the session (Hub::end_session).
  void (*on_close)(void* owner) = nullptr;
  void* owner = nullptr;
  void close();
};

class SessionRegistry {
 public:
  using Handle = std::list<SessionControl*>::iterator;

  Handle add(SessionControl* session) { return sessions_.insert(sessions_.end(), session); }
  void remove(Handle h) { sessions_.erase(h); }

  // Closes up to `max` open sessions pinned to `backend` (all backends when null);
  // returns how many it closed.
  std::size_t close_some(const pool::Backend* backend, std::size_t max);
  std::size_t count(const pool::Backend* backend = nullptr) const;
  std::size_t size() const { return sessions_.size(); }
  // Closes the sessions that moved no byte either way for their idle timeout; returns
  // how many. The client and server idle timeouts act as one (both legs carry the same
  // exchange), so the shorter of the two is the session's.
  std::size_t close_idle(std::chrono::steady_clock::time_point now);

 private:
  std::list<SessionControl*> sessions_;
};

}  // namespace kha::proxy
