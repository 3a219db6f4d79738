// fetch(): a blocking HTTP/1.1 request over plain TCP, one per connection, for the CLI
// (`kha status`, `kha reload`, `kha demo`), vip tracking and tests. It runs a Client on its
// own io_context; the whole response is read into memory (at most Limits::max_body).
#pragma once

#include <chrono>
#include <string>

#include "http/response.h"

namespace kha::http {

struct FetchResult {
  std::string error;  // "" when a response arrived, else e.g. "Connection refused", "timed out after 2000ms"
  int status = 0;
  std::string content_type;
  std::string body{};
  bool ok() const { return error.empty(); }
};

struct FetchOptions {
  std::string method = "GET";
  std::string body{};
  std::chrono::milliseconds timeout = std::chrono::seconds(5);  // the whole exchange
  std::string user_agent = "kha";
  Limits limits{};
};

// Sends METHOD target to `address` ("127.0.0.1:8081", "[::1]:8081", "localhost:8081"),
// trying each address the name resolves to. Host names the address connected to, not the
// name given: the admin server refuses POSTs whose Host is another name than localhost
// (DNS rebinding, admin/request_guard.h). Never throws.
FetchResult fetch(const std::string& address, const std::string& target, const FetchOptions& options = {});

}  // namespace kha::http
