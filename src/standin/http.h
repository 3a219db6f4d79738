// The small HTTP/1.1 subset the stand-in apiserver speaks: request heads with an
// optional Content-Length body, responses with a fixed body or chunked streams.
// Pure: no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kha::standin {

struct Request {
  std::string method;                        // "GET"
  std::string target;                        // "/readyz?verbose"
  std::string path;                          // "/readyz" (not decoded)
  std::map<std::string, std::string> query;  // decoded; a key without '=' maps to ""
  int minor_version = 1;                     // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::size_t content_length = 0;

  // Value of the first header named `name` (lower case), or "".
  std::string header(std::string_view name) const;
  // HTTP/1.1 keeps the connection unless "Connection: close"; 1.0 only with keep-alive.
  bool keep_alive() const;
  bool has_query(const std::string& key) const { return query.count(key) != 0; }
  // Value of query parameter `key`, or `fallback` when it is absent.
  std::string query_value(const std::string& key, const std::string& fallback = "") const;
};

// Parses a request head (request line and headers, ending with an empty line, which
// `head` may or may not include). On failure returns nullopt and sets *why.
std::optional<Request> parse_request(std::string_view head, std::string* why);

// Splits "a=1&b=x%2Fy" into decoded pairs ('+' is a space).
std::map<std::string, std::string> parse_query(std::string_view query);

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

std::string_view reason_phrase(int status);

// The bytes of a full response with Content-Length. `identity` goes into
// X-Standin-Identity; `keep_alive` false adds "Connection: close".
std::string serialize(const Response& response, std::string_view identity, bool keep_alive);

// The head of a chunked streaming response (no body bytes yet).
std::string serialize_stream_head(int status, std::string_view content_type, std::string_view identity);

// One chunk of a chunked body; an empty `data` is the terminating chunk.
std::string chunk(std::string_view data);

}  // namespace kha::standin
