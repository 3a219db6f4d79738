// Worker: its thread, listeners posted to its hub, idle sweeps, spread closing of a down backend's sessions.
#include "proxy/worker.h"

#include <future>
#include <random>

#include "common/log.h"
#include "proxy/close_pacing.h"
#include "proxy/socket_options.h"

namespace kha::proxy {

using asio::ip::tcp;

Worker::Worker(int id, bool splice) : id_(id), hub_(std::make_unique<Hub>(services_)) { services_.splice = splice; }

Worker::~Worker() { stop_and_join(); }

void Worker::listen(const FrontendPtr& frontend, const tcp::endpoint& endpoint, int fd) {
  // Accepted sockets inherit these from the listener (Linux clones the listening
  // socket), which saves six setsockopt calls on every new client.
  tune_session_socket(fd);
  // Served on the worker's own thread (queued until start() if need be), so that
  // reload can add listeners to running workers.
  hub_->post([this, fd, frontend, endpoint] { hub_->add_listener(fd, frontend, endpoint); });
}

void Worker::start() {
  hub_->post([this] { sweep_idle(); });
  thread_ = std::thread([this] { hub_->run(); });
}

void Worker::sweep_idle() {
  if (const std::size_t n = services_.registry.sweep(std::chrono::steady_clock::now()))
    log::debug("sessions_idle_closed", {{"worker", std::to_string(id_)}, {"count", std::to_string(n)}});
  hub_->after(kIdleSweep, [this] { sweep_idle(); });
}

void Worker::stop_accepting() {
  // Synchronous: once this returns, a new client is refused (SIGTERM's promise). Bounded,
  // because a worker that no longer runs must not hang the shutdown.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  hub_->post([this, closed] {
    hub_->remove_listeners(nullptr);
    closed->set_value();
  });
  if (std::this_thread::get_id() != thread_.get_id()) done.wait_for(std::chrono::seconds(2));
}

void Worker::stop_accepting(const tcp::endpoint& endpoint) {
  hub_->post([this, endpoint] { hub_->remove_listeners(&endpoint); });
}

void Worker::paced_close(const pool::BackendPtr& backend, std::size_t batch, std::chrono::milliseconds interval,
                         std::size_t closed) {
  const std::size_t n = services_.registry.close_some(backend.get(), batch);
  closed += n;
  backend->stats().sessions_closed_on_down.fetch_add(n, std::memory_order_relaxed);
  if (n == batch && !(backend->up() && !backend->removed())) {  // more, and it did not come back
    hub_->after(interval, [this, backend, batch, interval, closed] { paced_close(backend, batch, interval, closed); });
    return;
  }
  if (closed > 0)
    log::info("sessions_closed", {{"backend", backend->name()}, {"worker", std::to_string(id_)},
                                  {"count", std::to_string(closed)},
                                  {"reason", backend->removed() ? "backend removed, drain bound reached" : "backend down"}});
}

void Worker::close_sessions_of(pool::BackendPtr backend, std::chrono::milliseconds spread) {
  hub_->post([this, backend = std::move(backend), spread] {
    thread_local std::minstd_rand jitter(std::random_device{}());
    const std::size_t total = services_.registry.count(backend.get());
    const auto pacing = close_pacing(total, spread, std::uniform_real_distribution<double>(0, 1)(jitter));
    if (pacing.first.count() == 0) return paced_close(backend, pacing.batch, pacing.interval, 0);
    hub_->after(pacing.first, [this, backend, pacing] { paced_close(backend, pacing.batch, pacing.interval, 0); });
  });
}

void Worker::close_quiet_sessions_of(pool::BackendPtr backend, std::size_t max, std::chrono::milliseconds quiet) {
  hub_->post([this, backend = std::move(backend), max, quiet] {
    const std::size_t n = services_.registry.close_quiet(backend.get(), max, std::chrono::steady_clock::now(), quiet);
    if (n == 0) return;
    backend->stats().sessions_rebalanced.fetch_add(n, std::memory_order_relaxed);
    log::debug("sessions_rebalanced", {{"backend", backend->name()}, {"worker", std::to_string(id_)},
                                       {"count", std::to_string(n)}});
  });
}

void Worker::close_all_sessions() {
  hub_->post([this] { services_.registry.close_some(nullptr, SIZE_MAX); });
}

void Worker::stop_and_join() {
  if (!thread_.joinable()) return;
  hub_->stop();
  thread_.join();
}

}  // namespace kha::proxy
