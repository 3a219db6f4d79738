// HttpReply: the small part of HTTP/1.1 a health probe reads (RFC 9112 status line,
// Content-Length, chunked bodies). Pure: no Asio, no I/O; probe.cc feeds it bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kha::health {

struct ReplyHead {
  int status = 0;                             // 100..599
  std::optional<std::size_t> content_length;  // absent: body runs to EOF (or chunked)
  bool chunked = false;                       // Transfer-Encoding: chunked
  std::size_t size = 0;                       // bytes of the head, including the blank line
};

// Parses a reply head from the start of `bytes`. Returns nullopt while the blank
// line has not arrived yet; sets *error (and returns nullopt) when the head is
// malformed ("bad status line: ...").
std::optional<ReplyHead> parse_reply_head(std::string_view bytes, std::string* error);

// Whether `body` (the bytes after the head) is complete for `head`. A body that
// ends at EOF is never complete here; the caller decides on EOF.
bool body_complete(const ReplyHead& head, std::string_view body);

// The decoded body: chunked framing removed (as far as it is complete), or
// truncated to Content-Length.
std::string decode_body(const ReplyHead& head, std::string_view body);

// One printable line of at most `max` characters for a log reason: control
// characters become spaces, runs of spaces collapse, "..." marks a cut.
std::string excerpt(std::string_view text, std::size_t max = 80);

// The GET request a probe sends: HTTP/1.1, Host, Connection: close.
std::string make_get_request(std::string_view path, std::string_view host);

}  // namespace kha::health
