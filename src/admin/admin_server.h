// AdminServer: the small HTTP/1.1 server behind admin.listen (/healthz, /readyz, /metrics,
// /backends), on Asio C++20 coroutines. Routes map a method and an exact path to a
// handler; the server answers 404 for unknown paths, 405 for a known path with another
// method (GET routes also answer HEAD), 400 for malformed requests, 431/413 when the head
// or body exceeds its bound. Requests other than GET/HEAD change state and are refused
// when a browser may have sent them (request_guard.h).
//
// The endpoint cannot be held shut (liveness probes must always get through): a request
// must arrive whole within header_timeout of its first byte (of the accept, for a new
// connection), a keep-alive connection may wait idle_timeout for its next request, and
// when all max_connections slots are taken, the connection that has waited longest for a
// request is closed to make room for the new one ("evicted"). Only when every slot is
// writing a response is the new connection closed instead.
//
// Threading and lifetime: handlers run on the io_context's thread, one at a time per
// connection; they must not block. start(), stop() and the destructor must be called on
// that thread or while the io_context is not running. Connection coroutines share the
// server's state, so destroying the AdminServer while they run is safe: stop() closes
// every socket and they finish on their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio.hpp>

#include "admin/http_message.h"
#include "common/address.h"

namespace kha::admin {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct Route {
  std::string method;  // "GET" or "POST"
  std::string path;    // exact match, e.g. "/metrics"
  HttpHandler handler;
};

// What the server refused or cut short, counted since the owner created the struct (it
// outlives restarts of the server; the daemon mirrors it into /metrics). Atomics so that
// tests may read them from another thread; written on the server's thread only.
struct AdminServerStats {
  std::atomic<std::uint64_t> evicted{0};            // connections closed to make room for a new one
  std::atomic<std::uint64_t> header_timeouts{0};    // closed: no whole request within header_timeout
  std::atomic<std::uint64_t> rejected_full{0};      // new connections closed: every slot busy writing
  std::atomic<std::uint64_t> refused_origin{0};     // state-changing requests refused, by rule
  std::atomic<std::uint64_t> refused_fetch_site{0};
  std::atomic<std::uint64_t> refused_host{0};
  std::atomic<std::uint64_t> refused_content_type{0};
};

struct AdminServerOptions {
  std::size_t max_head_bytes = 8192;    // request line + headers; more -> 431
  std::size_t max_body_bytes = 65536;   // more -> 413
  // From a request's first byte (from the accept, for a new connection) to its last.
  // Short, so that connections that send nothing or dribble cannot hold slots.
  std::chrono::milliseconds header_timeout{3'000};
  // A keep-alive connection waiting for its next request; also bounds writing a response.
  std::chrono::milliseconds idle_timeout{10'000};
  std::size_t max_connections = 64;
  std::shared_ptr<AdminServerStats> stats = nullptr;  // null: the server keeps its own
};

class AdminServer {
 public:
  AdminServer(asio::io_context& io, HostPort listen, std::vector<Route> routes, AdminServerOptions options = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens, then serves on the io_context. Returns the error instead of
  // throwing: address in use, not an IP literal (asio::error::invalid_argument), etc.
  std::error_code start();

  // Stops accepting and closes every connection. Idempotent.
  void stop();

  // The bound address after start() (the real port when the configured one was 0).
  HostPort local_address() const;

  // Connections being served now (for tests and /metrics).
  std::size_t active_connections() const;

  const AdminServerStats& stats() const;

  struct State;

 private:
  asio::io_context& io_;
  HostPort listen_;
  std::shared_ptr<State> state_;
};

}  // namespace kha::admin
