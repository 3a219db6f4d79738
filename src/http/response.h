// ResponseParser: the one HTTP/1.1 response reader in kha (RFC 9112: status line, header
// fields, Content-Length, chunked, a body that runs to the close), incremental and bounded
// by Limits. Pure: no Asio, no I/O; clients (client.h, fetch.h) feed it the bytes they read.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kha::http {

// Every response read has a budget. Defaults suit a control-plane reply held in memory.
struct Limits {
  std::size_t max_head = 64 * 1024;  // status line, fields and blank line; chunk trailers too
  std::size_t max_body = 16u << 20;  // decoded body bytes of one response
  // A body over max_body fails the response, unless cut_body: then the response is
  // complete with its first max_body bytes and body_cut() says so (a health probe judges
  // a reply by its status and the start of its body; the rest is ignored).
  bool cut_body = false;
};

inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

struct ResponseHead {
  int status = 0;                             // 100..599
  std::optional<std::size_t> content_length;  // absent: chunked, or the body runs to the close
  bool chunked = false;                       // Transfer-Encoding ends in "chunked"
  std::size_t size = 0;                       // bytes of the head, including the blank line
  std::vector<std::pair<std::string, std::string>> fields;  // as received, values trimmed

  // The value of the first field named `name` (any case), or "".
  std::string_view field(std::string_view name) const;
};

enum class Progress {
  NeedMore,  // feed more bytes, or finish() at the close
  Complete,  // head() and body() hold the response
  Failed,    // error() says why; head() may still be there (has_head())
};

class ResponseParser {
 public:
  explicit ResponseParser(Limits limits = {}) : limits_(limits) {}

  // Takes the next bytes read from the connection and parses as far as they go.
  Progress feed(std::string_view bytes);
  // The peer closed: completes a body that runs to the close; anything else unfinished fails
  // ("connection closed before any reply", "reply head incomplete: HTTP/1.1 2...").
  Progress finish();

  // Starts the next response on the same connection (keep-alive). Bytes received after the
  // previous response are kept and parsed at once. Limits may change between responses.
  Progress next(std::optional<Limits> limits = std::nullopt);

  Progress progress() const { return progress_; }
  bool has_head() const { return head_.status != 0; }
  const ResponseHead& head() const { return head_; }
  // The decoded body received so far (chunk framing removed), less what take_body() took.
  const std::string& body() const { return body_; }
  // Hands over the decoded body received so far, for callers that stream it.
  std::string take_body() { return std::exchange(body_, {}); }
  bool body_cut() const { return cut_; }
  const std::string& error() const { return error_; }

 private:
  enum class Phase { Head, Length, Chunked, UntilClose, Done };
  enum class Chunk { Size, Data, DataEnd, Trailer };

  Progress advance();
  Progress fail(std::string why);
  bool parse_head(std::string_view head);  // status line and fields; false after fail()
  bool add_body(std::string_view piece);   // false when the body limit ended the response
  Progress chunked();

  Limits limits_;
  std::string buffer_;  // received, not yet parsed
  ResponseHead head_;
  std::string body_;
  std::size_t body_total_ = 0;  // decoded bytes of this response, taken or not
  std::size_t left_ = 0;        // Length: body bytes to come; Chunked/Data: bytes of this chunk
  std::size_t trailer_bytes_ = 0;
  Phase phase_ = Phase::Head;
  Chunk chunk_ = Chunk::Size;
  Progress progress_ = Progress::NeedMore;
  bool cut_ = false;
  std::string error_;
};

// One printable line of at most `max` characters for a log reason: control characters
// become spaces, runs of spaces collapse, "..." marks a cut.
std::string excerpt(std::string_view text, std::size_t max = 80);

}  // namespace kha::http
