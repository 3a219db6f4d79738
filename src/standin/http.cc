// The stand-in's HTTP/1.1: request-head and query parsing, response and chunked-stream serialisation.
#include "standin/http.h"

#include <algorithm>
#include <charconv>
#include <cctype>

#include <fmt/format.h>

namespace kha::standin {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

bool Request::keep_alive() const {
  const std::string connection = lower(header("connection"));
  if (minor_version == 0) return connection.find("keep-alive") != std::string::npos;
  return connection.find("close") == std::string::npos;
}

std::string Request::query_value(const std::string& key, const std::string& fallback) const {
  const auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) out.emplace(decode(part), "");
    else out.emplace(decode(part.substr(0, eq)), decode(part.substr(eq + 1)));
  }
  return out;
}

std::optional<Request> parse_request(std::string_view head, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<Request> {
    if (why) *why = reason;
    return std::nullopt;
  };
  Request r;
  auto line_end = head.find("\r\n");
  if (line_end == std::string_view::npos) line_end = head.size();
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return fail("malformed request line");
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") r.minor_version = 1;
  else if (version == "HTTP/1.0") r.minor_version = 0;
  else return fail("unsupported HTTP version");
  if (r.method.empty() || r.target.empty() || r.target.front() != '/') return fail("malformed request target");
  const auto qmark = r.target.find('?');
  r.path = r.target.substr(0, qmark);
  if (qmark != std::string::npos) r.query = parse_query(std::string_view(r.target).substr(qmark + 1));

  std::string_view rest = line_end < head.size() ? head.substr(line_end + 2) : std::string_view();
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    const std::string_view h = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (h.empty()) break;
    const auto colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("malformed header line");
    r.headers.emplace_back(lower(h.substr(0, colon)), std::string(trim(h.substr(colon + 1))));
  }
  if (!r.header("transfer-encoding").empty()) return fail("chunked request bodies are not supported");
  const std::string length = r.header("content-length");
  if (!length.empty()) {
    const auto [ptr, ec] = std::from_chars(length.data(), length.data() + length.size(), r.content_length);
    if (ec != std::errc() || ptr != length.data() + length.size()) return fail("malformed Content-Length");
  }
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string serialize(const Response& r, std::string_view identity, bool keep_alive) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                                "Cache-Control: no-cache, private\r\nX-Standin-Identity: {}\r\n",
                                r.status, reason_phrase(r.status), r.content_type, r.body.size(), identity);
  for (const auto& [k, v] : r.headers) out += fmt::format("{}: {}\r\n", k, v);
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

std::string serialize_stream_head(int status, std::string_view content_type, std::string_view identity) {
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n"
                     "Cache-Control: no-cache, private\r\nX-Standin-Identity: {}\r\n\r\n",
                     status, reason_phrase(status), content_type, identity);
}

std::string chunk(std::string_view data) { return fmt::format("{:x}\r\n{}\r\n", data.size(), data); }

}  // namespace kha::standin
