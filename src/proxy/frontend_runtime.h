// FrontendRuntime: what every worker needs to know about one frontend while it
// serves: its settings (swapped whole on reload), its backends, and where passive
// check failures go. Shared by all workers through shared_ptr; read per session.
//
// The thread rule (control plane vs data path), written once here:
//  - The frontend's owner (daemon/frontend_owner.h) is the only writer, on the main
//    thread. It publishes immutable snapshots: the settings (shared_ptr to const
//    config::Frontend) and the backend list (pool::BackendSet, shared_ptr to a const
//    list), each swapped whole; a reader's copy stays valid however long it keeps it.
//  - Workers only read those snapshots and the atomics of FrontendStats, HedgeBudget
//    and pool::Backend. They report back only through atomics (counters, active
//    sessions) and through passive_failure, which posts to the main thread; the owner
//    looks the report up there. No worker touches a control-plane container (owners,
//    checkers, listeners, discovery); the main thread reaches a worker only by posting
//    to its hub (proxy/worker.h).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "config/schema.h"
#include "pool/backend.h"
#include "proxy/hedge_budget.h"

namespace kha::proxy {

struct FrontendStats {
  std::atomic<std::uint64_t> sessions_total{0};
  std::atomic<std::uint64_t> sessions_failed{0};     // no backend answered
  std::atomic<std::uint64_t> picks_ignoring_health{0};  // every backend was down
  std::atomic<std::uint64_t> hedges_refused{0};   // the hedge budget said no
  std::atomic<std::uint64_t> client_rejected{0};  // backends closed on the client's first bytes: not their fault
  std::atomic<std::uint64_t> cap_pauses{0};       // a worker stopped accepting: max_sessions reached
};

// SessionSlot: one client session counted against its frontend's max_sessions from
// accept to close, whichever worker runs it. Holds the counter, not the frontend: a
// session outlives its race (the relay lets go of the frontend) and may outlive the
// reload that retired it.
class SessionSlot {
 public:
  SessionSlot() = default;
  // Takes a slot if fewer than `cap` are held (0: no cap). A compare-and-swap, not a
  // check then an add: two workers accepting at cap - 1 cannot both get one.
  static SessionSlot try_take(const std::shared_ptr<std::atomic<std::size_t>>& open, std::size_t cap) {
    std::size_t held = open->load(std::memory_order_relaxed);
    do {
      if (cap != 0 && held >= cap) return SessionSlot();
    } while (!open->compare_exchange_weak(held, held + 1, std::memory_order_relaxed));
    SessionSlot slot;
    slot.open_ = open;
    return slot;
  }
  explicit operator bool() const { return open_ != nullptr; }
  SessionSlot(SessionSlot&&) noexcept = default;
  SessionSlot& operator=(SessionSlot&& other) noexcept {
    release();
    open_ = std::move(other.open_);
    return *this;
  }
  SessionSlot(const SessionSlot&) = delete;
  SessionSlot& operator=(const SessionSlot&) = delete;
  ~SessionSlot() { release(); }

 private:
  void release() {
    if (open_) open_->fetch_sub(1, std::memory_order_relaxed);
    open_.reset();
  }
  std::shared_ptr<std::atomic<std::size_t>> open_;
};

class FrontendRuntime {
 public:
  FrontendRuntime(std::shared_ptr<const config::Frontend> settings, pool::BackendList backends)
      : name_(settings->name), backends_(std::move(backends), settings->balance), settings_(std::move(settings)) {
    hedge_budget_.configure(settings_->hedge.budget_percent, kHedgeBurst);
  }

  const std::string& name() const { return name_; }
  pool::BackendSet& backends() { return backends_; }
  FrontendStats& stats() { return stats_; }
  HedgeBudget& hedge_budget() { return hedge_budget_; }
  // Client sessions of this frontend open now (racing or relaying), on every worker.
  std::size_t open_sessions() const { return open_sessions_->load(std::memory_order_relaxed); }
  // A slot if this frontend holds fewer than `cap` sessions (0: always); empty otherwise.
  SessionSlot try_take_slot(std::size_t cap) { return SessionSlot::try_take(open_sessions_, cap); }

  std::shared_ptr<const config::Frontend> settings() const {
    std::lock_guard lock(mutex_);
    return settings_;
  }
  void set_settings(std::shared_ptr<const config::Frontend> s) {
    backends_.set_balance(s->balance);
    if (s->hedge.budget_percent != settings()->hedge.budget_percent) hedge_budget_.configure(s->hedge.budget_percent, kHedgeBurst);
    std::lock_guard lock(mutex_);
    settings_ = std::move(s);
  }

  // Called from any worker thread; must be thread-safe. Set before serving starts.
  std::function<void(const pool::BackendPtr&, const std::string& reason)> passive_failure;

 private:
  static constexpr int kHedgeBurst = 20;
  std::string name_;
  pool::BackendSet backends_;
  FrontendStats stats_;
  HedgeBudget hedge_budget_;
  std::shared_ptr<std::atomic<std::size_t>> open_sessions_ = std::make_shared<std::atomic<std::size_t>>(0);
  mutable std::mutex mutex_;
  std::shared_ptr<const config::Frontend> settings_;
};

using FrontendPtr = std::shared_ptr<FrontendRuntime>;

}  // namespace kha::proxy
