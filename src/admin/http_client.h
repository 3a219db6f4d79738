// A minimal blocking HTTP/1.1 client for `kha status` and tests: one request per
// connection ("Connection: close"), whole response read into memory (at most 16 MiB).
#pragma once

#include <chrono>
#include <string>

namespace kha::admin {

struct HttpResult {
  std::string error;  // "" when a response arrived, else e.g. "Connection refused", "timed out after 2000ms"
  int status = 0;
  std::string content_type;
  std::string body;
  bool ok() const { return error.empty(); }
};

// Sends METHOD path to `address` ("127.0.0.1:8081", "[::1]:8081", "localhost:8081") and
// waits at most `timeout` for the whole exchange. Never throws.
HttpResult http_request(const std::string& address, const std::string& method, const std::string& path,
                        std::chrono::milliseconds timeout, const std::string& body = {});

inline HttpResult http_get(const std::string& address, const std::string& path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return http_request(address, "GET", path, timeout);
}

}  // namespace kha::admin
