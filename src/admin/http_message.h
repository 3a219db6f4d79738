// HTTP/1.1 messages for the admin server and the `kha status` client: just enough of
// RFC 9112 for GET/POST with Content-Length bodies. Pure: parsing and serialising only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kha::admin {

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string path;     // "/metrics" (the target without its query)
  std::string query;    // "format=json" (without '?'), "" when none
  int minor_version = 1;  // HTTP/1.<minor>
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated header keeps the last
  std::string body;

  // Content-Length, 0 when absent; nullopt when malformed.
  std::optional<std::size_t> content_length() const;
  // HTTP/1.1 without "Connection: close", or HTTP/1.0 with "Connection: keep-alive".
  bool keep_alive() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Parses the request line and headers of `head` (everything before the blank line, with
// or without the final CRLF CRLF). Returns "" on success, else why the request is bad
// (the server answers 400 with it).
std::string parse_request_head(std::string_view head, HttpRequest* out);

// "OK", "Not Found", ...; "Unknown" for codes this server does not use.
const char* reason_phrase(int status);

// Status line, Content-Type, Content-Length, Connection and `extra_headers` (each ending
// in CRLF), blank line, then the body unless `head_only` (a HEAD request).
std::string serialize_response(const HttpResponse& response, bool keep_alive, bool head_only = false,
                               std::string_view extra_headers = {});

// A simple text response: body + "\n".
HttpResponse text_response(int status, std::string_view body);

// `text` with every absolute path shortened to its last component
// ("/etc/kha/kha.yaml:12:5: ..." -> "kha.yaml:12:5: ..."): answers name files so that an
// operator recognises them, without showing a client the host's file layout.
std::string without_directories(std::string_view text);

}  // namespace kha::admin
