#include "proxy/worker.h"

#include <sys/socket.h>

#include <future>

#include "common/log.h"
#include "proxy/socket_options.h"

namespace kha::proxy {

using asio::ip::tcp;

Worker::Worker(int id, bool splice)
    : id_(id), work_(context_.get_executor()), relays_(std::make_unique<RelayHub>(context_, services_)) {
  services_.splice = splice;
  services_.relays = relays_.get();
}

Worker::~Worker() { stop_and_join(); }

std::error_code Worker::listen(const FrontendPtr& frontend, const tcp::endpoint& endpoint, int native) {
  auto listener = std::make_unique<Listener>();
  listener->frontend = frontend;
  listener->endpoint = endpoint;
  listener->acceptor = std::make_unique<tcp::acceptor>(context_);
  asio::error_code ec;
  auto& a = *listener->acceptor;
  if (native >= 0) {
    a.assign(endpoint.protocol(), native, ec);
    if (ec) return ec;
  } else {
    a.open(endpoint.protocol(), ec);
    if (ec) return ec;
    a.set_option(tcp::acceptor::reuse_address(true), ec);
    int one = 1;
    ::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (endpoint.address().is_v6()) a.set_option(asio::ip::v6_only(true), ec);
    a.bind(endpoint, ec);
    if (ec) return ec;
    a.listen(4096, ec);
    if (ec) return ec;
  }
  // Accepted sockets inherit these from the listener (Linux clones the listening
  // socket), which saves six setsockopt calls on every new client.
  tune_session_socket(a.native_handle());
  // Registered and served on the worker's own thread (queued until start() if need be),
  // so that reload can add listeners to running workers.
  asio::post(context_, [this, l = std::shared_ptr<Listener>(std::move(listener))]() mutable {
    listeners_.push_back(l);
    asio::co_spawn(context_, accept_loop(l), [](std::exception_ptr e) {
      if (e) log::error("accept_loop_failed");
    });
  });
  return {};
}

void Worker::start() {
  asio::co_spawn(context_, sweep_idle(), asio::detached);
  thread_ = std::thread([this] { context_.run(); });
}

asio::awaitable<void> Worker::sweep_idle() {
  asio::steady_timer tick(context_);
  for (;;) {
    tick.expires_after(kIdleSweep);
    asio::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (const std::size_t n = services_.registry.close_idle(std::chrono::steady_clock::now()))
      log::debug("sessions_idle_closed", {{"worker", std::to_string(id_)}, {"count", std::to_string(n)}});
  }
}

asio::awaitable<void> Worker::accept_loop(std::shared_ptr<Listener> listener) {
  Listener& l = *listener;
  for (;;) {
    asio::error_code ec;
    tcp::socket client = co_await l.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !l.acceptor->is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning on a full descriptor table.
      log::warn("accept_failed", {{"listen", l.endpoint.address().to_string() + ":" + std::to_string(l.endpoint.port())},
                                  {"error", ec.message()}});
      asio::steady_timer pause(context_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Counted from accept, not from when the session first runs: a shutdown that
    // drains must not miss a client accepted a moment before it began.
    services_.active.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(context_, run_session(std::move(client), l.frontend, services_), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("session_crashed", {{"error", ex.what()}});
      }
    });
  }
}

void Worker::stop_accepting() {
  // Synchronous: once this returns, a new client is refused (SIGTERM's promise). Bounded,
  // because a worker that no longer runs must not hang the shutdown.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(context_, [this, closed] {
    for (auto& l : listeners_) {
      asio::error_code ec;
      l->acceptor->close(ec);
    }
    closed->set_value();
  });
  if (std::this_thread::get_id() != thread_.get_id()) done.wait_for(std::chrono::seconds(2));
}

void Worker::stop_accepting(const tcp::endpoint& endpoint) {
  asio::post(context_, [this, endpoint] {
    for (auto& l : listeners_)
      if (l->endpoint == endpoint) {
        asio::error_code ec;
        l->acceptor->close(ec);
      }
    std::erase_if(listeners_, [&](const auto& l) { return l->endpoint == endpoint; });
  });
}

asio::awaitable<void> Worker::paced_close(pool::BackendPtr backend) {
  const std::size_t total = services_.registry.count(backend.get());
  const std::size_t batch = std::max<std::size_t>(16, (total + 9) / 10);
  std::size_t closed = 0;
  asio::steady_timer pause(context_);
  for (;;) {
    const std::size_t n = services_.registry.close_some(backend.get(), batch);
    closed += n;
    backend->stats().sessions_closed_on_down.fetch_add(n, std::memory_order_relaxed);
    if (n < batch || (backend->up() && !backend->removed())) break;  // done, or it came back: keep the rest
    pause.expires_after(std::chrono::milliseconds(100));
    asio::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (closed > 0)
    log::info("sessions_closed", {{"backend", backend->name()}, {"worker", std::to_string(id_)},
                                  {"count", std::to_string(closed)},
                                  {"reason", backend->removed() ? "backend removed, drain bound reached" : "backend down"}});
}

void Worker::close_sessions_of(pool::BackendPtr backend) {
  asio::co_spawn(context_, paced_close(std::move(backend)), asio::detached);
}

void Worker::close_all_sessions() {
  asio::post(context_, [this] { services_.registry.close_some(nullptr, SIZE_MAX); });
}

void Worker::stop_and_join() {
  if (!thread_.joinable()) return;
  work_.reset();
  context_.stop();
  thread_.join();
}

}  // namespace kha::proxy
