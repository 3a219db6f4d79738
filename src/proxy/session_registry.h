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
  // The upstream socket, until its liveness options are set (see SessionRegistry::sweep).
  int upstream_fd = -1;
  std::chrono::steady_clock::time_point started;
  int aged_bucket = -1;  // where this session is counted in its backend's aged_sessions (-1: young)
  // How the owner ends the session (Hub::end_session).
  void (*on_close)(void* owner) = nullptr;
  // Whether bytes wait in kha for a peer that has not taken them yet (a blocked write).
  bool (*holds_bytes)(const void* owner) = nullptr;
  void* owner = nullptr;
  void close();
};

// `started` in the unit of BackendStats::session_start_sum_ms.
inline std::int64_t started_ms(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(started.time_since_epoch()).count();
}

class SessionRegistry {
 public:
  using Handle = std::list<SessionControl*>::iterator;

  Handle add(SessionControl* session) { return sessions_.insert(sessions_.end(), session); }
  void remove(Handle h) { sessions_.erase(h); }

  // Closes up to `max` open sessions pinned to `backend` (all backends when null);
  // returns how many it closed.
  std::size_t close_some(const pool::Backend* backend, std::size_t max);
  std::size_t count(const pool::Backend* backend = nullptr) const;
  // Rebalancing (pool/rebalance.h): closes up to `max` sessions pinned to `backend` that
  // are quiet now (no byte either way for `quiet`, none waiting in kha: between two
  // messages, never inside one), the youngest first (the oldest have proved stable and
  // are likely the busiest watches). Returns how many it closed.
  std::size_t close_quiet(const pool::Backend* backend, std::size_t max, std::chrono::steady_clock::time_point now,
                          std::chrono::milliseconds quiet);
  std::size_t size() const { return sessions_.size(); }
  // Every kIdleSweep: closes the sessions that moved no byte either way for their idle
  // timeout and returns how many (the client and server idle timeouts act as one: both
  // legs carry the same exchange, so the shorter of the two is the session's). Sets the
  // liveness options (keepalive, TCP_USER_TIMEOUT) on the upstream socket of every
  // session older than kLivenessAfter: most connections through an apiserver proxy are
  // over in milliseconds, and five setsockopt calls are ~4 % of what kha spends on one
  // (bench/RESULTS.md); a dead peer is a matter of seconds, so arming them a moment later
  // costs nothing. (The client socket inherits them from the listener, for free.)
  // The sweep also moves each session into its age bucket (BackendStats::aged_sessions).
  std::size_t sweep(std::chrono::steady_clock::time_point now);
  static constexpr std::chrono::milliseconds kLivenessAfter{500};

 private:
  std::list<SessionControl*> sessions_;
};

}  // namespace kha::proxy
