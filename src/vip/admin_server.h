// AdminServer: a minimal HTTP/1.1 server for `kha vip --admin`: GET /metrics (Prometheus
// text), /status (JSON), /healthz. One thread, one request per connection, each bounded by
// a 1 s read timeout so a slow client cannot stall it. Not the shared admin server of
// src/admin (TODO(#6): switch to it once it lands).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <thread>

namespace kha::vip {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<HttpReply(const std::string& path)>;

  AdminServer() = default;
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Listens on host:port (IP literal) and serves on a thread until destruction.
  std::error_code start(const std::string& host, std::uint16_t port, Handler handler);
  std::uint16_t port() const { return port_; }

 private:
  void loop();
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace kha::vip
