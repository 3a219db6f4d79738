#include "proxy/worker.h"

#include <sys/socket.h>

#include <future>

#include "common/log.h"
#include "proxy/socket_options.h"

namespace kha::proxy {

using asio::ip::tcp;

Worker::Worker(int id, bool splice)
    : id_(id), work_(context_.get_executor()), hub_(std::make_unique<Hub>(context_, services_)) {
  services_.splice = splice;
}

Worker::~Worker() { stop_and_join(); }

std::error_code Worker::listen(const FrontendPtr& frontend, const tcp::endpoint& endpoint, int native) {
  tcp::acceptor a(context_);
  asio::error_code ec;
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
  const int fd = a.release(ec);
  if (ec) return ec;
  // Served on the worker's own thread (queued until start() if need be), so that
  // reload can add listeners to running workers.
  asio::post(context_, [this, fd, frontend, endpoint] { hub_->add_listener(fd, frontend, endpoint); });
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

void Worker::stop_accepting() {
  // Synchronous: once this returns, a new client is refused (SIGTERM's promise). Bounded,
  // because a worker that no longer runs must not hang the shutdown.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(context_, [this, closed] {
    hub_->remove_listeners(nullptr);
    closed->set_value();
  });
  if (std::this_thread::get_id() != thread_.get_id()) done.wait_for(std::chrono::seconds(2));
}

void Worker::stop_accepting(const tcp::endpoint& endpoint) {
  asio::post(context_, [this, endpoint] { hub_->remove_listeners(&endpoint); });
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
