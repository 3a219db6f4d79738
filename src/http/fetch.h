// fetch(): one HTTP/1.1 request over plain TCP, one per connection, read whole into memory
// (at most Limits::max_body), on a Client: fetch_async() on the caller's io_context (vip
// tracking), fetch() blocking on a private one (the CLI: `kha status`, `kha reload`,
// `kha demo`, and tests).
#pragma once

#include <chrono>
#include <string>

#include <asio.hpp>

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

// The same on the caller's executor, bounded by options.timeout (name resolution too, as
// far as the resolver lets itself be cancelled). Never throws: a cancellation from outside
// is an error in the result.
asio::awaitable<FetchResult> fetch_async(std::string address, std::string target, FetchOptions options);

}  // namespace kha::http
