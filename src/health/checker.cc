// Checker: the probe loop on its strand, passive reports, Tracker transitions and their log lines.
#include "health/checker.h"

#include <cstdio>
#include <exception>
#include <sstream>

#include <algorithm>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "common/log.h"
#include "health/probe.h"  // make_tls_context

namespace kha::health {

using asio::experimental::as_tuple;

std::shared_ptr<Checker> Checker::create(asio::any_io_executor executor, config::HealthCheck check,
                                         asio::ip::tcp::endpoint endpoint,
                                         std::string host_for_sni, OnTransition on_transition,
                                         Schedule::Random random) {
  return std::make_shared<Checker>(std::move(executor), std::move(check), endpoint,
                                   std::move(host_for_sni), std::move(on_transition),
                                   std::move(random));
}

Checker::Checker(asio::any_io_executor executor, config::HealthCheck check,
                 asio::ip::tcp::endpoint endpoint, std::string host_for_sni,
                 OnTransition on_transition, Schedule::Random random)
    : strand_(asio::make_strand(executor)),
      check_(std::move(check)),
      endpoint_(endpoint),
      host_(std::move(host_for_sni)),
      on_transition_(std::move(on_transition)),
      tracker_(check_.rise, check_.fall),
      random_(random ? std::move(random) : make_default_random()),
      schedule_(Intervals::from(check_), random_),
      timer_(strand_),
      connection_(check_, endpoint_, host_, random_) {
  if (check_.kind == config::CheckKind::None) {
    state_.store(State::Up, std::memory_order_release);
    last_ = Outcome::success(Layer::Connect, "no check configured");
  } else if (check_.kind != config::CheckKind::Tcp) {
    tls_ = make_tls_context(check_.tls, &tls_error_);
  }
}

void Checker::start() {
  if (check_.kind == config::CheckKind::None) return;
  asio::dispatch(strand_, [self = shared_from_this()] {
    if (self->started_ || self->stopped_.load()) return;
    self->started_ = true;
    self->next_probe_at_ = Clock::now();
    asio::co_spawn(self->strand_, self->loop(self),
                   asio::bind_cancellation_slot(self->cancel_.slot(), log::CoroutineEnd{"checker"}));
  });
}

void Checker::stop() {
  if (stopped_.exchange(true)) return;
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->timer_.cancel();
    self->cancel_.emit(asio::cancellation_type::terminal);
  });
}

Outcome Checker::last_outcome() const {
  std::lock_guard<std::mutex> lock(last_mutex_);
  return last_;
}

void Checker::report_passive_failure(Outcome outcome) {
  outcome.ok = false;
  outcome.layer = Layer::Passive;
  if (stopped_.load()) return;
  asio::post(strand_, [self = shared_from_this(), outcome = std::move(outcome)] {
    if (self->stopped_.load()) return;
    self->record(outcome);
    if (self->check_.kind == config::CheckKind::None || !self->started_) return;
    const auto soon = Clock::now() + self->check_.transition_interval;
    if (soon < self->next_probe_at_) {
      self->next_probe_at_ = soon;
      self->timer_.cancel();  // the loop wakes and sleeps again until next_probe_at_
    }
  });
}

void Checker::record(const Outcome& outcome) {
  if (outcome.layer == Layer::Local && Clock::now() - last_local_log_ >= std::chrono::seconds(10)) {
    // kha's own shortage, not the backend's: said loudly, but once in a while.
    last_local_log_ = Clock::now();
    std::ostringstream where;
    where << endpoint_;
    log::warn("check_not_run", {{"backend", where.str()}, {"reason", outcome.reason},
                                {"verdict", "none: kha's own resources, not the backend"}});
  }
  {
    std::lock_guard<std::mutex> lock(last_mutex_);
    last_ = outcome;
  }
  if (on_outcome_ && !stopped_.load()) on_outcome_(outcome);
  if (check_.kind == config::CheckKind::None) return;
  auto transition = tracker_.record(outcome);
  if (!transition) return;
  state_.store(transition->to, std::memory_order_release);
  if (on_transition_ && !stopped_.load()) on_transition_(*transition);
}

asio::awaitable<void> Checker::loop(std::shared_ptr<Checker> self) {
  while (!stopped_.load()) {
    if (Clock::now() < next_probe_at_) {
      timer_.expires_at(next_probe_at_);
      if (!connection_.idle()) {
        co_await timer_.async_wait(as_tuple(asio::use_awaitable));
        continue;  // woken early (passive report or stop) or due: decide again
      }
      using namespace asio::experimental::awaitable_operators;
      auto due = timer_.async_wait(as_tuple(asio::use_awaitable));
      auto ended = connection_.watch_idle();
      auto woke = co_await (std::move(due) || std::move(ended));
      if (woke.index() == 1 && std::get<1>(woke)) {
        // The kept-alive connection ended while idle (a killed backend's FIN or RST, or
        // an idle timeout): probe soon, but not more often than transition_interval,
        // and spread over one more transition_interval: a restarted apiserver closes
        // every node's connection at once, and they should not all reconnect at once.
        const auto spread = std::chrono::duration_cast<Clock::duration>(check_.transition_interval * random_());
        const auto soon = std::max(Clock::now(), last_probe_at_ + check_.transition_interval) + spread;
        next_probe_at_ = std::min(next_probe_at_, soon);
      }
      continue;
    }
    Outcome outcome;
    last_probe_at_ = Clock::now();
    if (check_.kind != config::CheckKind::Tcp && !tls_) {
      outcome = Outcome::failure(Layer::Tls, "tls setup: " + tls_error_);
    } else {
      outcome = co_await connection_.probe(tls_.get());
    }
    if (stopped_.load()) break;
    record(outcome);
    next_probe_at_ = Clock::now() + schedule_.next_delay(tracker_);
  }
  connection_.close();
  (void)self;
}

void log_transition(std::string_view frontend, std::string_view backend, config::CheckKind kind,
                    const Transition& t) {
  const auto latency_ms =
      std::chrono::duration_cast<std::chrono::duration<double, std::milli>>(t.outcome.latency);
  char latency[32];
  std::snprintf(latency, sizeof latency, "%.1fms", latency_ms.count());
  const auto level = t.to == State::Down ? spdlog::level::warn : spdlog::level::info;
  log::event(level, t.to == State::Down ? "backend_down" : "backend_up",
             {{"frontend", std::string(frontend)},
              {"backend", std::string(backend)},
              {"from", to_string(t.from)},
              {"to", to_string(t.to)},
              {"check", config::to_string(kind)},
              {"layer", to_string(t.outcome.layer)},
              {"reason", t.outcome.reason},
              {"latency", latency}});
}

}  // namespace kha::health
