#include "health/http_reply.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kha::health {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Walks chunked framing; returns true when the last (zero) chunk and its
// terminating CRLF were seen. Appends the data seen to *out when non-null.
bool walk_chunks(std::string_view body, std::string* out) {
  while (true) {
    const auto eol = body.find("\r\n");
    if (eol == std::string_view::npos) return false;
    std::string_view size_text = body.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    size_text = trim(size_text);
    std::size_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || p != size_text.data() + size_text.size()) return false;
    body.remove_prefix(eol + 2);
    if (size == 0) return body.find("\r\n") != std::string_view::npos;  // trailers end
    const std::size_t take = std::min(size, body.size());
    if (out) out->append(body.substr(0, take));
    if (body.size() < size + 2) return false;
    body.remove_prefix(size + 2);
  }
}

}  // namespace

std::optional<ReplyHead> parse_reply_head(std::string_view bytes, std::string* error) {
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view head = bytes.substr(0, end + 2);
  ReplyHead reply;
  reply.size = end + 4;

  const auto eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 200 OK": version, space, three digits, then a space or the end.
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    if (error) *error = "bad status line: " + excerpt(status_line, 60);
    return std::nullopt;
  }
  int status = 0;
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (ec != std::errc() || p != status_line.data() + 12 || status < 100 || status > 599) {
    if (error) *error = "bad status line: " + excerpt(status_line, 60);
    return std::nullopt;
  }
  reply.status = status;

  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    head.remove_prefix(line_end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (e != std::errc() || q != value.data() + value.size()) {
        if (error) *error = "bad Content-Length: " + excerpt(value, 40);
        return std::nullopt;
      }
      reply.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      reply.chunked = value.size() >= 7 && iequals(value.substr(value.size() - 7), "chunked");
    }
  }
  if (reply.chunked) reply.content_length.reset();
  if (reply.status < 200 || reply.status == 204 || reply.status == 304) reply.content_length = 0;
  return reply;
}

bool body_complete(const ReplyHead& head, std::string_view body) {
  if (head.chunked) return walk_chunks(body, nullptr);
  if (head.content_length) return body.size() >= *head.content_length;
  return false;
}

std::string decode_body(const ReplyHead& head, std::string_view body) {
  if (head.chunked) {
    std::string out;
    walk_chunks(body, &out);
    return out;
  }
  if (head.content_length) return std::string(body.substr(0, *head.content_length));
  return std::string(body);
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
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max) {
    out.resize(max > 3 ? max - 3 : 0);
    out += "...";
  }
  return out;
}

std::string make_get_request(std::string_view path, std::string_view host) {
  std::string req;
  req.reserve(128 + path.size() + host.size());
  req.append("GET ").append(path.empty() ? "/" : path).append(" HTTP/1.1\r\n");
  req.append("Host: ").append(host).append("\r\n");
  req.append("User-Agent: kha-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  return req;
}

}  // namespace kha::health
