// Checker: the per-backend health-check loop (Envoy's HealthCheckerImplBase). It
// owns its timer, TLS context and check connection, probes the backend over it
// (check_connection.h; between probes a kept-alive connection that ends pulls the
// next probe forward: a killed backend is seen at once), feeds a pure
// Tracker (tracker.h), picks the next delay with a Schedule (schedule.h), and
// reports state changes. Probe kinds only say success or failure; the thresholds
// and timing live here.
//
// Threads: everything but state(), last_outcome(), report_passive_failure() and
// stop() runs on a strand of the executor given to create(); on_transition and
// on_outcome are called on that strand. state() is one atomic load, cheap enough
// for every new client connection on any worker thread.
//
// Lifetime: create() returns a shared_ptr; start() makes the loop hold a
// reference of its own until stop() (or until the io_context is destroyed). Call
// stop() before dropping the last handle.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "config/schema.h"
#include "health/check_connection.h"
#include "health/outcome.h"
#include "health/schedule.h"
#include "health/tracker.h"

namespace kha::health {

class Checker : public std::enable_shared_from_this<Checker> {
 public:
  using OnTransition = std::function<void(const Transition&)>;
  using OnOutcome = std::function<void(const Outcome&)>;

  // host_for_sni: the backend's configured host (SNI, verified name, HTTP Host);
  // random: uniform [0, 1) for jitter, null for a seeded default.
  // kind none: the backend is Up from the start and never probed.
  static std::shared_ptr<Checker> create(asio::any_io_executor executor,
                                         config::HealthCheck check,
                                         asio::ip::tcp::endpoint endpoint,
                                         std::string host_for_sni, OnTransition on_transition,
                                         Schedule::Random random = nullptr);

  // Optional: called for every probe outcome and passive report (metrics). Set
  // before start().
  void set_on_outcome(OnOutcome on_outcome) { on_outcome_ = std::move(on_outcome); }

  // Starts the loop; the first probe runs at once. Idempotent; no-op after stop().
  void start();

  // Stops the loop and cancels a probe in flight. Callable from any thread. Once it
  // returns, no new on_transition/on_outcome call starts.
  void stop();

  // Any thread; one relaxed-acquire atomic load.
  State state() const noexcept { return state_.load(std::memory_order_acquire); }

  // Any thread: the most recent probe outcome or passive report (copied under a mutex).
  Outcome last_outcome() const;

  // Any thread: the data path saw a connect failure, timeout or reset before any
  // byte from this backend. Counts as a failure at once (outcome.ok is forced
  // false, layer Passive) and pulls the next probe to transition_interval from now.
  // kind none: recorded as last outcome, the state stays Up.
  void report_passive_failure(Outcome outcome);

  const config::HealthCheck& check() const { return check_; }
  const asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }

  Checker(asio::any_io_executor executor, config::HealthCheck check,
          asio::ip::tcp::endpoint endpoint, std::string host_for_sni, OnTransition on_transition,
          Schedule::Random random);  // use create()

 private:
  using Clock = std::chrono::steady_clock;

  asio::awaitable<void> loop(std::shared_ptr<Checker> self);
  void record(const Outcome& outcome);  // on the strand

  asio::strand<asio::any_io_executor> strand_;
  const config::HealthCheck check_;
  const asio::ip::tcp::endpoint endpoint_;
  const std::string host_;
  OnTransition on_transition_;
  OnOutcome on_outcome_;

  // Strand only.
  Tracker tracker_;
  Schedule::Random random_;  // shared by the schedule, the connection and the idle-end spread
  Schedule schedule_;
  asio::steady_timer timer_;
  Clock::time_point next_probe_at_;           // the loop sleeps until then
  std::shared_ptr<asio::ssl::context> tls_;   // null for tcp/none or when setup failed
  std::string tls_error_;                     // why tls_ is null for tls/https
  CheckConnection connection_;                // kept alive between probes (https)
  Clock::time_point last_probe_at_{};
  asio::cancellation_signal cancel_;          // stops the loop's current wait or probe
  bool started_ = false;
  Clock::time_point last_local_log_{};  // Layer::Local outcomes are logged once per 10 s

  std::atomic<State> state_{State::Unknown};
  std::atomic<bool> stopped_{false};
  mutable std::mutex last_mutex_;
  Outcome last_;  // guarded by last_mutex_
};

// Logs one line for a state change: backend, old and new state, check kind, layer,
// reason, latency. Down is a warning, Up is info.
void log_transition(std::string_view frontend, std::string_view backend, config::CheckKind kind,
                    const Transition& transition);

}  // namespace kha::health
