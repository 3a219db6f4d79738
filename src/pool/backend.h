// Backend: one upstream endpoint (a kube-apiserver or etcd member) shared by every
// worker thread. Health is written by its checker, counters by the sessions; all
// fields read on the data path are atomics so that no lock is taken per connection.
// Lifetime: owned by shared_ptr from the frontend's BackendSet; a session holds a
// shared_ptr to its backend, so a backend removed by reload lives until its last
// session ends.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/address.h"
#include "pool/selection.h"

namespace kha::pool {

// Connect latency histogram bounds, seconds (upper bounds; +Inf implied).
// The same bounds as the admin module's kLatencyBuckets, so /metrics can export them as they are.
inline constexpr std::array<double, 13> kConnectLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,    0.25,  0.5,    1,     2.5,  5};

// Session age buckets (pinning, issue #17): sessions younger than the first bound are
// "young"; aged bucket i holds those at least kSessionAgeBounds[i] old and younger than
// the next bound (the last is open). Labels as shown in /backends and /metrics.
inline constexpr std::array<std::chrono::seconds, 4> kSessionAgeBounds{std::chrono::seconds(60), std::chrono::seconds(600),
                                                                       std::chrono::seconds(3600), std::chrono::seconds(21600)};
inline constexpr std::array<const char*, 5> kSessionAgeLabels{"0-1m", "1m-10m", "10m-1h", "1h-6h", "6h+"};

// The aged bucket of a session this old: -1 while young, else 0..3.
inline int aged_bucket(std::chrono::steady_clock::duration age) {
  int bucket = -1;
  for (std::size_t i = 0; i < kSessionAgeBounds.size(); ++i)
    if (age >= kSessionAgeBounds[i]) bucket = static_cast<int>(i);
  return bucket;
}

struct BackendStats {
  std::atomic<std::int64_t> active_sessions{0};
  // Connects racing for a client now: leastconn counts them with the sessions, so that
  // a burst of new clients (reconnecting watches) spreads evenly before any answered.
  std::atomic<std::int64_t> connecting{0};
  // The start times (steady clock, ms) of the active sessions added up: their mean age
  // is now - sum / active_sessions, kept with one add per session (pinning, issue #17).
  std::atomic<std::int64_t> session_start_sum_ms{0};
  // Active sessions per aged bucket (aged_bucket); young = active_sessions - their sum.
  // Kept by the workers' idle sweep (a session moves up a bucket within kIdleSweep) and
  // by the session's end; mutable: the registry knows its sessions' backends as const.
  mutable std::array<std::atomic<std::int64_t>, kSessionAgeBounds.size()> aged_sessions{};
  // Bytes per second relayed both ways, over the frontend owner's last round (about a
  // second; FrontendOwner::sample_rates); read by /backends and kha status.
  std::atomic<double> bytes_per_second{0};
  std::atomic<std::uint64_t> sessions_total{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> bytes_to_backend{0};
  std::atomic<std::uint64_t> bytes_to_client{0};
  std::atomic<std::uint64_t> sessions_closed_on_down{0};
  std::atomic<std::uint64_t> sessions_rebalanced{0};  // closed (quiet) so that the client reconnects to an emptier backend
  std::atomic<std::uint64_t> hedged_connects{0};     // second connect started because the first was slow
  std::atomic<std::uint64_t> bytes_spliced{0};  // of the bytes relayed (both ways), those moved by splice(2)
  std::atomic<std::uint64_t> hedged_first_bytes{0};  // client bytes replayed because this backend was silent
  std::array<std::atomic<std::uint64_t>, kConnectLatencyBuckets.size() + 1> connect_latency_buckets{};
  std::atomic<std::uint64_t> connect_latency_count{0};
  std::atomic<std::uint64_t> connect_latency_sum_us{0};

  void observe_connect_latency(std::chrono::microseconds latency);
  // Active sessions per age bucket, young first (kSessionAgeLabels); any thread.
  std::array<std::int64_t, kSessionAgeLabels.size()> session_ages() const;
};

class Backend {
 public:
  Backend(std::string name, HostPort address) : name_(std::move(name)), address_(std::move(address)) {}

  const std::string& name() const { return name_; }
  const HostPort& address() const { return address_; }

  // Written by the health checker; read per new connection.
  bool up() const { return up_.load(std::memory_order_relaxed); }
  void set_up(bool up) { up_.store(up, std::memory_order_relaxed); }

  // Set when a reload removes this backend: no new sessions, existing ones drain.
  bool removed() const { return removed_.load(std::memory_order_relaxed); }
  void mark_removed() { removed_.store(true, std::memory_order_relaxed); }

  // Slow start: the time it came back up (or joined a running frontend); never set for
  // the backends kha started with, which serve fully at once.
  void start_ramp(std::chrono::steady_clock::time_point now) {
    ramp_start_ns_.store(std::max<std::int64_t>(1, now.time_since_epoch().count()), std::memory_order_relaxed);
  }
  // The share of new sessions it is offered now (1 outside slow start).
  double admit(std::chrono::steady_clock::time_point now, std::chrono::milliseconds slow_start) const {
    const auto since = ramp_start_ns_.load(std::memory_order_relaxed);
    if (since == 0 || slow_start.count() <= 0) return 1.0;
    return slow_start_admit(now - std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(since)),
                            slow_start);
  }

  // The addresses its name resolves to (canonical IP texts, the resolver's order): the
  // one view its checker and the data path share, published by the frontend's owner
  // (daemon/backend_health.h: at start, on a schedule, after a failure). Empty for an IP
  // literal and before a name's first answer. Any thread; a session reads it per connect.
  std::shared_ptr<const std::vector<std::string>> resolved() const {
    std::lock_guard lock(resolved_mutex_);
    return resolved_;
  }
  void set_resolved(std::vector<std::string> addresses) {
    auto fresh = std::make_shared<const std::vector<std::string>>(std::move(addresses));
    std::lock_guard lock(resolved_mutex_);
    resolved_ = std::move(fresh);
  }

  BackendStats& stats() { return stats_; }
  const BackendStats& stats() const { return stats_; }

 private:
  std::string name_;
  HostPort address_;
  mutable std::mutex resolved_mutex_;
  std::shared_ptr<const std::vector<std::string>> resolved_ = std::make_shared<const std::vector<std::string>>();
  std::atomic<bool> up_{true};
  std::atomic<bool> removed_{false};
  std::atomic<std::int64_t> ramp_start_ns_{0};  // steady_clock ticks; 0 = not ramping
  BackendStats stats_;
};

using BackendPtr = std::shared_ptr<Backend>;
using BackendList = std::vector<BackendPtr>;

// BackendSet: the frontend's current backends. Readers take a snapshot (a shared_ptr
// to an immutable list) once per new session; reload swaps the list whole.
class BackendSet {
 public:
  explicit BackendSet(BackendList initial, config::Balance balance)
      : list_(std::make_shared<const BackendList>(std::move(initial))), balance_(balance) {}

  std::shared_ptr<const BackendList> snapshot() const;
  void replace(BackendList next);
  config::Balance balance() const { return balance_.load(std::memory_order_relaxed); }
  void set_balance(config::Balance b) { balance_.store(b, std::memory_order_relaxed); }

  // Picks from `list`, skipping the backends in `tried`; nullptr when all were tried.
  // *ignoring_health is set when every backend is down and health was ignored. A backend
  // in its slow start (`now`, the frontend's `slow_start`) is offered its share only.
  BackendPtr pick(const BackendList& list, const std::vector<const Backend*>& tried, bool* ignoring_health,
                  std::chrono::steady_clock::time_point now = {}, std::chrono::milliseconds slow_start = {});

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const BackendList> list_;
  std::atomic<config::Balance> balance_;
  std::atomic<std::uint64_t> cursor_{0};
};

}  // namespace kha::pool
