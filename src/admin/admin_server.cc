// AdminServer: the accept loop, one coroutine per connection, deadline watchdogs, slot eviction, dispatch.
#include "admin/admin_server.h"

#include <set>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "admin/request_guard.h"
#include "common/log.h"

namespace kha::admin {

using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// One live connection, on its coroutine's frame; the server's table points at it while
// it holds a slot (an evicted connection leaves the table at once, its coroutine later).
struct Slot {
  // A new connection: its first request must arrive by `first_deadline`.
  Slot(tcp::socket& s, Clock::time_point first_deadline)
      : socket(s), timer(s.get_executor()), deadline(first_deadline) {}
  // Moves the deadline, earlier or later; the watchdog re-reads it.
  void set_deadline(Clock::time_point t) {
    deadline = t;
    timer.cancel();
  }
  tcp::socket& socket;
  asio::steady_timer timer;        // the watchdog's
  Clock::time_point deadline;      // the watchdog closes the socket then
  bool reading = true;             // no whole request yet: may be evicted
  bool idle = false;               // keep-alive, waiting for a request's first byte
  bool finished = false;           // serving is over: the watchdog returns instead of re-arming
  Clock::time_point waiting_since = Clock::now();  // when it began waiting for this request
};
}  // namespace

struct AdminServer::State {
  State(asio::io_context& io, std::vector<Route> r, AdminServerOptions o)
      : acceptor(io), routes(std::move(r)), options(std::move(o)) {
    if (!options.stats) options.stats = std::make_shared<AdminServerStats>();
  }
  tcp::acceptor acceptor;
  HostPort bound;  // the listen address with its real port, for the Host check
  std::vector<Route> routes;
  AdminServerOptions options;
  std::set<Slot*> connections;  // connections holding a slot, owned by their coroutines
  bool stopped = false;
};

namespace {

using State = AdminServer::State;

void count_refusal(AdminServerStats& stats, const std::string& reason) {
  if (reason == "origin") ++stats.refused_origin;
  else if (reason == "fetch_site") ++stats.refused_fetch_site;
  else if (reason == "host") ++stats.refused_host;
  else ++stats.refused_content_type;
}

HttpResponse dispatch(const State& st, const HttpRequest& req, std::string* extra_headers) {
  if (req.method != "GET" && req.method != "HEAD") {  // may change state: not from a web page
    if (auto refusal = refuse_browser_request(req, st.bound)) {
      count_refusal(*st.options.stats, refusal->reason);
      log::warn("admin_request_refused", {{"method", req.method}, {"path", req.path}, {"rule", refusal->reason}});
      return text_response(refusal->status, refusal->message);
    }
  }
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

// Closes the socket once the slot's deadline has passed; the serving side moves it.
awaitable<void> watchdog(State& st, Slot& slot) {
  while (!slot.finished) {
    if (slot.deadline <= Clock::now()) {
      if (slot.reading && !slot.idle) ++st.options.stats->header_timeouts;
      asio::error_code ignored;
      slot.socket.close(ignored);
      co_return;
    }
    slot.timer.expires_at(slot.deadline);
    co_await slot.timer.async_wait(use_tuple);  // early when the deadline moved or serving finished
  }
}

awaitable<bool> send(tcp::socket& socket, const HttpResponse& r, bool keep_alive, bool head_only = false,
                     const std::string& extra = {}) {
  const std::string bytes = serialize_response(r, keep_alive, head_only, extra);
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), use_tuple);
  co_return !ec;
}

awaitable<void> serve(std::shared_ptr<State> st, Slot& slot) {
  struct Finish {  // on every way out, exceptions included: the watchdog, cancelled by ||, must not re-arm
    Slot& slot;
    ~Finish() { slot.finished = true; }
  } finish{slot};
  const auto& o = st->options;
  auto& socket = slot.socket;
  std::string buf;
  while (!st->stopped) {
    if (buf.empty() && slot.idle) {  // keep-alive: the idle timeout runs until a request begins
      auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec) co_return;
      slot.idle = false;
      slot.set_deadline(Clock::now() + o.header_timeout);
    }
    auto [ec, head_size] =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buf, o.max_head_bytes), "\r\n\r\n", use_tuple);
    if (ec == asio::error::not_found) {
      co_await send(socket, text_response(431, "request head larger than " + std::to_string(o.max_head_bytes) +
                                                   " bytes"), false);
      co_return;
    }
    if (ec) co_return;  // closed by the client, reset, timed out or evicted
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
    slot.reading = false;  // a whole request: answering it, not to be evicted
    std::string extra;
    const HttpResponse response = dispatch(*st, req, &extra);
    const bool keep_alive = req.keep_alive() && !st->stopped;
    slot.set_deadline(Clock::now() + o.idle_timeout);
    if (!co_await send(socket, response, keep_alive, req.method == "HEAD", extra) || !keep_alive) co_return;
    slot.reading = true;
    slot.waiting_since = Clock::now();
    slot.idle = buf.empty();  // a pipelined request already begun runs on the header timeout
    if (!slot.idle) slot.set_deadline(Clock::now() + o.header_timeout);
  }
}

awaitable<void> connection(std::shared_ptr<State> st, tcp::socket socket) {
  Slot slot(socket, Clock::now() + st->options.header_timeout);
  st->connections.insert(&slot);
  try {
    co_await (serve(st, slot) || watchdog(*st, slot));
  } catch (const std::exception& e) {
    log::warn("admin_connection_failed", {{"error", e.what()}});
  }
  st->connections.erase(&slot);
  asio::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// Frees a slot for a new connection: closes the one that has waited longest for a
// request. Returns false when every slot is answering a request.
bool evict_oldest_waiting(State& st) {
  Slot* oldest = nullptr;
  for (Slot* s : st.connections)
    if (s->reading && (!oldest || s->waiting_since < oldest->waiting_since)) oldest = s;
  if (!oldest) return false;
  st.connections.erase(oldest);  // its coroutine sees the closed socket and finishes
  asio::error_code ignored;
  oldest->socket.close(ignored);
  ++st.options.stats->evicted;
  return true;
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
    if (st->connections.size() >= st->options.max_connections && !evict_oldest_waiting(*st)) {
      ++st->options.stats->rejected_full;
      asio::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(executor, connection(st, std::move(socket)), log::CoroutineEnd{"admin_server"});
  }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, HostPort listen, std::vector<Route> routes, AdminServerOptions options)
    : io_(io), listen_(std::move(listen)), state_(std::make_shared<State>(io, std::move(routes), std::move(options))) {}

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
  state_->bound = local_address();
  asio::co_spawn(io_, accept_loop(state_), log::CoroutineEnd{"admin_server"});
  return {};
}

void AdminServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  asio::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto* slot : state_->connections) slot->socket.close(ignored);
}

HostPort AdminServer::local_address() const {
  asio::error_code ec;
  const auto endpoint = state_->acceptor.local_endpoint(ec);
  if (ec) return listen_;
  return HostPort{endpoint.address().to_string(), endpoint.port()};
}

std::size_t AdminServer::active_connections() const { return state_->connections.size(); }

const AdminServerStats& AdminServer::stats() const { return *state_->options.stats; }

}  // namespace kha::admin
