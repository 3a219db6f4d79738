// Request: the one place kha writes an HTTP/1.1 request (health probes, discovery, the
// admin client, vip tracking). Pure: serialising only.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kha::http {

struct Request {
  std::string method = "GET";
  std::string target = "/";       // origin form: "/readyz", "/apis/...?watch=1"; "" sends "/"
  std::string host{};             // the Host field: "10.0.0.1:6443", "[::1]:8081"
  std::string user_agent = "kha";
  std::string accept = "*/*";
  std::vector<std::pair<std::string, std::string>> fields{};  // more fields, in order
  std::string body{};             // sent with Content-Length when non-empty, or for POST/PUT
  bool keep_alive = false;        // false: "Connection: close"
};

// Request line, Host, User-Agent, Accept, the extra fields, Content-Length, Connection,
// blank line, body. CR and LF in a field value become spaces: a value never ends the head.
std::string serialize(const Request& request);

}  // namespace kha::http
