// AdminServer: the small HTTP/1.1 server behind admin.listen (/healthz, /readyz, /metrics,
// /backends), on Asio C++20 coroutines. Routes map a method and an exact path to a
// handler; the server answers 404 for unknown paths, 405 for a known path with another
// method (GET routes also answer HEAD), 400 for malformed requests, 431/413 when the head
// or body exceeds its bound, and closes a connection that does not deliver a request in
// time. Keep-alive is supported; at most max_connections are served at once (more are
// closed on accept).
//
// Threading and lifetime: handlers run on the io_context's thread, one at a time per
// connection; they must not block. start(), stop() and the destructor must be called on
// that thread or while the io_context is not running. Connection coroutines share the
// server's state, so destroying the AdminServer while they run is safe: stop() closes
// every socket and they finish on their own.
#pragma once

#include <chrono>
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

struct AdminServerOptions {
  std::size_t max_head_bytes = 8192;    // request line + headers; more -> 431
  std::size_t max_body_bytes = 65536;   // more -> 413
  std::chrono::milliseconds request_timeout{10'000};  // to receive one whole request, idle included
  std::size_t max_connections = 64;
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

  struct State;

 private:
  asio::io_context& io_;
  HostPort listen_;
  std::shared_ptr<State> state_;
};

}  // namespace kha::admin
