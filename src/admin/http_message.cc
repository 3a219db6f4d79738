// HTTP/1.1 request-head parsing and response serialisation for the admin server and `kha status`. Pure.
#include "admin/http_message.h"

#include <charconv>

namespace kha::admin {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::size_t> HttpRequest::content_length() const {
  const auto it = headers.find("content-length");
  if (it == headers.end()) return 0;
  std::size_t n = 0;
  const auto& v = it->second;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

bool HttpRequest::keep_alive() const {
  const auto it = headers.find("connection");
  const std::string value = it == headers.end() ? "" : lower(it->second);
  if (minor_version >= 1) return value.find("close") == std::string::npos;
  return value.find("keep-alive") != std::string::npos;
}

std::string parse_request_head(std::string_view head, HttpRequest* out) {
  while (head.size() >= 2 && head.substr(head.size() - 2) == "\r\n") head.remove_suffix(2);
  const auto eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);

  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return "expected a request line \"METHOD /path HTTP/1.1\"";
  }
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(method)) return "bad method";
  if (target.empty() || target.front() != '/') return "expected a target starting with '/'";
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return "expected HTTP/1.0 or HTTP/1.1";
  out->method = std::string(method);
  const auto q = target.find('?');
  out->path = std::string(target.substr(0, q));
  out->query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  out->minor_version = version.back() - '0';
  out->headers.clear();

  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) return "bad header line";
    out->headers[lower(field.substr(0, colon))] = std::string(trim(field.substr(colon + 1)));
  }
  if (out->headers.count("transfer-encoding")) return "chunked request bodies are not supported";
  if (!out->content_length()) return "bad Content-Length";
  return "";
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string serialize_response(const HttpResponse& r, bool keep_alive, bool head_only,
                               std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + ' ' + reason_phrase(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

std::string without_directories(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto ends_path = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == ':' || c == '\'' || c == '"' || c == ','; };
  std::size_t i = 0;
  while (i < text.size()) {
    const bool starts_path = text[i] == '/' && (i == 0 || ends_path(text[i - 1]) || text[i - 1] == '(');
    if (!starts_path) {
      out += text[i++];
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && !ends_path(text[end]) && text[end] != ')') ++end;
    const std::string_view path = text.substr(i, end - i);
    out += path.substr(path.find_last_of('/') + 1);
    i = end;
  }
  return out;
}

HttpResponse text_response(int status, std::string_view body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::string(body) + "\n"};
}

}  // namespace kha::admin
