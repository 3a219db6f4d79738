// BackendHealth: the health checkers of the backends of one frontend (its
// FrontendOwner holds it), and the glue between them and the data path: a
// transition flips the backend's `up` flag (read per new session), logs one line,
// and, when a backend goes down, closes the sessions pinned to it (on by default) so
// that watches reconnect at once. Passive failures from the workers are routed to
// the right checker. Runs the checkers on the main io_context; main thread only.
// Held by shared_ptr: the passive-failure hook, which outlives a removed frontend in
// its last sessions, holds it weakly.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>

#include "health/checker.h"
#include "proxy/frontend_runtime.h"

namespace kha::daemon {

class BackendHealth : public std::enable_shared_from_this<BackendHealth> {
 public:
  // Called on the main thread when a backend goes from up to down (close_sessions_on_down);
  // the transition says what took it down.
  using OnDown = std::function<void(const pool::BackendPtr&, const health::Transition&)>;
  // Observers for metrics, called on the main thread: (frontend, backend, ...).
  std::function<void(const std::string&, const std::string&, const health::Outcome&)> on_outcome;
  std::function<void(const std::string&, const std::string&, const health::Transition&)> on_transition;

  BackendHealth(asio::io_context& main, OnDown on_down) : main_(main), on_down_(std::move(on_down)) {}
  ~BackendHealth() { stop(); }
  BackendHealth(const BackendHealth&) = delete;
  BackendHealth& operator=(const BackendHealth&) = delete;

  // Creates (not starts) a checker for every backend of `frontend` and hooks the
  // frontend's passive-failure path. Returns "" or why a backend cannot be checked.
  std::string add(const proxy::FrontendPtr& frontend);
  // One backend (reload): a new checker, started at once when start() already ran.
  // Replaces the backend's previous checker, if any (changed check settings). A
  // backend given by name is resolved off the main loop, then every resolve_interval
  // and soon after a failed check; what it resolves to is published on the backend
  // (pool::Backend::resolved, the view the data path connects to) and checked. A name
  // that never resolved leaves the backend down, retried every second.
  std::string add_backend(const proxy::FrontendPtr& frontend, const pool::BackendPtr& backend);
  // Stops and forgets the checker of `backend` (removed by reload).
  void remove_backend(const pool::Backend* backend);
  void start();
  void stop();

  // True once every checker has decided (Up or Down) at least once.
  bool first_round_done() const;
  // The checker of `backend`, or null.
  std::shared_ptr<health::Checker> checker(const pool::Backend* backend) const;
  // When the last probe outcome (or passive report) of `backend` was recorded; main thread.
  std::optional<std::chrono::steady_clock::time_point> last_outcome_at(const pool::Backend* backend) const;

 private:
  struct Entry {
    std::weak_ptr<pool::Backend> backend;
    std::weak_ptr<proxy::FrontendRuntime> frontend;
    std::shared_ptr<health::Checker> checker;  // null while the backend's name has not resolved
    std::optional<std::chrono::steady_clock::time_point> last_outcome_at;
    std::uint64_t ticket = 0;     // which add_backend made it: a late resolver answer for another is dropped
    // A backend given by name: its next resolution (null for an IP literal).
    std::shared_ptr<asio::steady_timer> resolve_timer;
    std::chrono::steady_clock::time_point last_resolve{};
    bool resolving = false;       // an answer is awaited
    bool resolve_failed = false;  // the last lookup failed (logged once per streak)
    bool unresolved = false;      // ... and the name never resolved: the backend is down, retried every second
  };
  void start_checker(const proxy::FrontendPtr& frontend, const pool::BackendPtr& backend,
                     const asio::ip::tcp::endpoint& endpoint);
  // A named backend's lookup, its answer (pool::judge_resolution decides: publish and
  // restart the checker, keep, or leave down), and the next one.
  void resolve_name(const pool::Backend* key, std::uint64_t ticket);
  void resolved(const pool::Backend* key, std::uint64_t ticket, std::vector<std::string> found, const std::string& error);
  void schedule_resolve(Entry& e, std::chrono::steady_clock::time_point at);
  // After a failed check: the name may point elsewhere now.
  void resolve_soon(const pool::Backend* key);
  asio::io_context& main_;
  OnDown on_down_;
  std::unordered_map<const pool::Backend*, Entry> entries_;
  std::uint64_t tickets_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace kha::daemon
