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
  mutable std::mutex mutex_;
  std::shared_ptr<const config::Frontend> settings_;
};

using FrontendPtr = std::shared_ptr<FrontendRuntime>;

}  // namespace kha::proxy
