#include "admin/admin_server.h"

#include <set>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "common/log.h"

namespace kha::admin {

using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

struct AdminServer::State {
  State(asio::io_context& io, std::vector<Route> r, AdminServerOptions o)
      : acceptor(io), routes(std::move(r)), options(o) {}
  tcp::acceptor acceptor;
  std::vector<Route> routes;
  AdminServerOptions options;
  std::set<tcp::socket*> connections;  // sockets of live connections, owned by their coroutines
  bool stopped = false;
};

namespace {

using State = AdminServer::State;

HttpResponse dispatch(const State& st, const HttpRequest& req, std::string* extra_headers) {
  std::string allow;
  for (const auto& r : st.routes) {
    if (r.path != req.path) continue;
    allow += (allow.empty() ? "" : ", ") + r.method + (r.method == "GET" ? ", HEAD" : "");
    if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) {
      try {
        return r.handler(req);
      } catch (const std::exception& e) {
        log::error("admin_handler_failed", {{"path", req.path}, {"error", e.what()}});
        return text_response(500, "internal error");
      }
    }
  }
  if (!allow.empty()) {
    *extra_headers = "Allow: " + allow + "\r\n";
    return text_response(405, "method " + req.method + " is not allowed on " + req.path + "; allowed: " + allow);
  }
  std::string pages;
  for (const auto& r : st.routes) {
    if (pages.find(r.path) == std::string::npos) pages += ' ' + r.path;
  }
  return text_response(404, "no page " + req.path + "; pages:" + pages);
}

// Closes the socket once `deadline` has passed; the serving side moves the deadline.
awaitable<void> watchdog(asio::steady_timer& timer, const Clock::time_point& deadline, tcp::socket& socket) {
  while (deadline > Clock::now()) {
    timer.expires_at(deadline);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;  // the connection finished first
  }
  asio::error_code ignored;
  socket.close(ignored);
}

awaitable<bool> send(tcp::socket& socket, const HttpResponse& r, bool keep_alive, bool head_only = false,
                     const std::string& extra = {}) {
  const std::string bytes = serialize_response(r, keep_alive, head_only, extra);
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), use_tuple);
  co_return !ec;
}

awaitable<void> serve(std::shared_ptr<State> st, tcp::socket& socket, Clock::time_point& deadline) {
  const auto& o = st->options;
  std::string buf;
  while (!st->stopped) {
    deadline = Clock::now() + o.request_timeout;
    auto [ec, head_size] =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buf, o.max_head_bytes), "\r\n\r\n", use_tuple);
    if (ec == asio::error::not_found) {
      co_await send(socket, text_response(431, "request head larger than " + std::to_string(o.max_head_bytes) +
                                                   " bytes"), false);
      co_return;
    }
    if (ec) co_return;  // closed by the client, reset, or timed out
    HttpRequest req;
    if (auto why = parse_request_head(std::string_view(buf).substr(0, head_size), &req); !why.empty()) {
      co_await send(socket, text_response(400, why), false);
      co_return;
    }
    const std::size_t length = *req.content_length();
    if (length > o.max_body_bytes) {
      co_await send(socket, text_response(413, "request body larger than " + std::to_string(o.max_body_bytes) +
                                                   " bytes"), false);
      co_return;
    }
    if (buf.size() - head_size < length) {
      const std::size_t more = length - (buf.size() - head_size);
      auto [ec2, n] = co_await asio::async_read(socket, asio::dynamic_buffer(buf), asio::transfer_exactly(more),
                                                use_tuple);
      if (ec2) co_return;
    }
    req.body = buf.substr(head_size, length);
    buf.erase(0, head_size + length);
    std::string extra;
    const HttpResponse response = dispatch(*st, req, &extra);
    const bool keep_alive = req.keep_alive() && !st->stopped;
    deadline = Clock::now() + o.request_timeout;
    if (!co_await send(socket, response, keep_alive, req.method == "HEAD", extra) || !keep_alive) co_return;
  }
}

awaitable<void> connection(std::shared_ptr<State> st, tcp::socket socket) {
  st->connections.insert(&socket);
  Clock::time_point deadline = Clock::now() + st->options.request_timeout;
  asio::steady_timer timer(socket.get_executor());
  try {
    co_await (serve(st, socket, deadline) || watchdog(timer, deadline, socket));
  } catch (const std::exception& e) {
    log::warn("admin_connection_failed", {{"error", e.what()}});
  }
  st->connections.erase(&socket);
  asio::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("admin_server_failed", {{"error", ex.what()}});
  }
}

awaitable<void> accept_loop(std::shared_ptr<State> st) {
  auto executor = co_await asio::this_coro::executor;
  while (!st->stopped) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {  // EMFILE and friends: back off instead of spinning
      asio::steady_timer pause(executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (st->connections.size() >= st->options.max_connections) {
      asio::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(executor, connection(st, std::move(socket)), log_exception);
  }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, HostPort listen, std::vector<Route> routes, AdminServerOptions options)
    : io_(io), listen_(std::move(listen)), state_(std::make_shared<State>(io, std::move(routes), options)) {}

AdminServer::~AdminServer() { stop(); }

std::error_code AdminServer::start() {
  asio::error_code ec;
  const auto address = asio::ip::make_address(listen_.host, ec);
  if (ec) return ec;
  const tcp::endpoint endpoint(address, listen_.port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    asio::error_code ignored;
    acceptor.close(ignored);
    return ec;
  }
  asio::co_spawn(io_, accept_loop(state_), log_exception);
  return {};
}

void AdminServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  asio::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto* socket : state_->connections) socket->close(ignored);
}

HostPort AdminServer::local_address() const {
  asio::error_code ec;
  const auto endpoint = state_->acceptor.local_endpoint(ec);
  if (ec) return listen_;
  return HostPort{endpoint.address().to_string(), endpoint.port()};
}

std::size_t AdminServer::active_connections() const { return state_->connections.size(); }

}  // namespace kha::admin
