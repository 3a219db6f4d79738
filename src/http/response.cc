// ResponseParser: incremental HTTP/1.1 response parsing with limits (see response.h).
#include "http/response.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kha::http {
namespace {

constexpr std::size_t kMaxChunkSizeLine = 1024;  // hex digits, extensions and CRLF

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "HTTP/1.1 200 OK": a version, a space, three digits, then a space or the end. Returns 0
// when the line is not one.
int status_of(std::string_view line) {
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
    return 0;
  int status = 0;
  auto [p, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (ec != std::errc() || p != line.data() + 12 || status < 100 || status > 599) return 0;
  return status;
}

}  // namespace

std::string_view ResponseHead::field(std::string_view name) const {
  for (const auto& [n, v] : fields)
    if (iequals(n, name)) return v;
  return {};
}

Progress ResponseParser::fail(std::string why) {
  error_ = std::move(why);
  phase_ = Phase::Done;
  return progress_ = Progress::Failed;
}

Progress ResponseParser::feed(std::string_view bytes) {
  if (progress_ != Progress::NeedMore) return progress_;
  buffer_.append(bytes);
  return advance();
}

Progress ResponseParser::finish() {
  if (progress_ != Progress::NeedMore) return progress_;
  switch (phase_) {
    case Phase::Head:
      return fail(buffer_.empty() ? "connection closed before any reply"
                                  : "reply head incomplete: " + excerpt(buffer_, 60));
    case Phase::UntilClose:
      phase_ = Phase::Done;
      return progress_ = Progress::Complete;
    case Phase::Length:
      return fail("connection closed " + std::to_string(body_total_) + " bytes into a body of " +
                  std::to_string(*head_.content_length));
    case Phase::Chunked:
      return fail("connection closed inside a chunked body");
    case Phase::Done:
      break;
  }
  return progress_;
}

Progress ResponseParser::next(std::optional<Limits> limits) {
  if (limits) limits_ = *limits;
  if (phase_ == Phase::Head && progress_ == Progress::NeedMore) return advance();  // nothing started
  if (progress_ == Progress::Failed) return progress_;  // the connection is not reusable
  head_ = {};
  body_.clear();
  body_total_ = left_ = trailer_bytes_ = 0;
  phase_ = Phase::Head;
  chunk_ = Chunk::Size;
  progress_ = Progress::NeedMore;
  cut_ = false;
  return advance();
}

bool ResponseParser::add_body(std::string_view piece) {
  if (piece.size() > limits_.max_body - body_total_) {
    if (!limits_.cut_body) {
      fail("body over " + std::to_string(limits_.max_body) + " bytes");
      return false;
    }
    piece = piece.substr(0, limits_.max_body - body_total_);
    body_.append(piece);
    body_total_ += piece.size();
    cut_ = true;
    phase_ = Phase::Done;
    progress_ = Progress::Complete;
    return false;
  }
  body_.append(piece);
  body_total_ += piece.size();
  return true;
}

bool ResponseParser::parse_head(std::string_view head) {
  head_.size = head.size() + 2;
  const auto eol = head.find("\r\n");
  head_.status = status_of(head.substr(0, eol));
  if (head_.status == 0) {
    fail("bad status line: " + excerpt(head.substr(0, eol), 60));
    return false;
  }
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    head.remove_prefix(line_end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: ignored, as before RFC 9112's stricter rule
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    head_.fields.emplace_back(name, value);
    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || e != std::errc() || q != value.data() + value.size() ||
          (head_.content_length && *head_.content_length != n)) {
        fail("bad Content-Length: " + excerpt(value, 40));
        return false;
      }
      head_.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      head_.chunked = value.size() >= 7 && iequals(value.substr(value.size() - 7), "chunked");
    }
  }
  if (head_.chunked) head_.content_length.reset();
  if (head_.status < 200 || head_.status == 204 || head_.status == 304) {
    head_.chunked = false;
    head_.content_length = 0;  // no body, whatever the fields say
  }
  return true;
}

Progress ResponseParser::advance() {
  if (phase_ == Phase::Head) {
    // A client may ignore empty lines before a status line (RFC 9112 section 2.2).
    std::size_t skip = 0;
    while (buffer_.compare(skip, 2, "\r\n") == 0) skip += 2;
    buffer_.erase(0, skip);
    const auto first = buffer_.find("\r\n");
    // The status line is judged as soon as it is there: what is not HTTP fails at once
    // instead of waiting for a blank line that may never come.
    if (first != std::string::npos && status_of(std::string_view(buffer_).substr(0, first)) == 0)
      return fail("bad status line: " + excerpt(std::string_view(buffer_).substr(0, first), 60));
    const auto end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos ? buffer_.size() > limits_.max_head : end + 4 > limits_.max_head)
      return fail("reply head over " + std::to_string(limits_.max_head) + " bytes: " + excerpt(buffer_, 60));
    if (end == std::string::npos) return progress_;
    if (!parse_head(std::string_view(buffer_).substr(0, end + 2))) return progress_;
    buffer_.erase(0, end + 4);
    if (head_.chunked) {
      phase_ = Phase::Chunked;
    } else if (head_.content_length) {
      phase_ = Phase::Length;
      left_ = *head_.content_length;
    } else {
      phase_ = Phase::UntilClose;
    }
  }
  switch (phase_) {
    case Phase::Length: {
      const std::size_t take = std::min(left_, buffer_.size());
      if (!add_body(std::string_view(buffer_).substr(0, take))) return progress_;
      buffer_.erase(0, take);
      left_ -= take;
      if (left_ > 0) return progress_;
      phase_ = Phase::Done;
      return progress_ = Progress::Complete;
    }
    case Phase::UntilClose:
      if (add_body(buffer_)) buffer_.clear();
      return progress_;
    case Phase::Chunked:
      return chunked();
    case Phase::Head:
    case Phase::Done:
      break;
  }
  return progress_;
}

// Walks chunked framing as far as the buffer goes: size line (hex, extensions after ';'),
// data, CRLF, ..., the zero chunk, trailer fields, the blank line.
Progress ResponseParser::chunked() {
  for (;;) {
    switch (chunk_) {
      case Chunk::Size: {
        const auto eol = buffer_.find("\r\n");
        if (eol == std::string::npos) {
          if (buffer_.size() > kMaxChunkSizeLine) return fail("bad chunk size line: " + excerpt(buffer_, 40));
          return progress_;
        }
        std::string_view text = std::string_view(buffer_).substr(0, eol);
        text = trim(text.substr(0, text.find(';')));
        std::size_t size = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), size, 16);
        if (text.empty() || ec != std::errc() || p != text.data() + text.size())
          return fail("bad chunk size: " + excerpt(std::string_view(buffer_).substr(0, eol), 40));
        buffer_.erase(0, eol + 2);
        left_ = size;
        chunk_ = size == 0 ? Chunk::Trailer : Chunk::Data;
        break;
      }
      case Chunk::Data: {
        const std::size_t take = std::min(left_, buffer_.size());
        if (!add_body(std::string_view(buffer_).substr(0, take))) return progress_;
        buffer_.erase(0, take);
        left_ -= take;
        if (left_ > 0) return progress_;
        chunk_ = Chunk::DataEnd;
        break;
      }
      case Chunk::DataEnd:
        if (buffer_.size() < 2) return progress_;
        if (buffer_.compare(0, 2, "\r\n") != 0) return fail("bad chunk framing: no CRLF after the chunk data");
        buffer_.erase(0, 2);
        chunk_ = Chunk::Size;
        break;
      case Chunk::Trailer: {
        const auto eol = buffer_.find("\r\n");
        if (eol == std::string::npos || trailer_bytes_ + eol + 2 > limits_.max_head) {
          if (trailer_bytes_ + buffer_.size() > limits_.max_head)
            return fail("chunk trailers over " + std::to_string(limits_.max_head) + " bytes");
          return progress_;
        }
        buffer_.erase(0, eol + 2);
        trailer_bytes_ += eol + 2;
        if (eol == 0) {
          phase_ = Phase::Done;
          return progress_ = Progress::Complete;
        }
        break;
      }
    }
  }
}

std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text) {
    const bool space = std::iscntrl(static_cast<unsigned char>(c)) || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
    if (out.size() > max && out.back() != ' ') break;  // enough to know it is cut
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max) {
    out.resize(max > 3 ? max - 3 : 0);
    out += "...";
  }
  return out;
}

}  // namespace kha::http
