// refuse_browser_request(): the Host, Origin and Content-Type checks that keep web pages off admin POSTs.
#include "admin/request_guard.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace kha::admin {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a Host value into host (no brackets, lower case) and port (0 when absent).
// nullopt when it is not host[:port].
std::optional<HostPort> parse_host_header(std::string_view value) {
  const bool bracketed_only = value.starts_with('[') && value.ends_with(']');
  if (bracketed_only) return HostPort{lower(value.substr(1, value.size() - 2)), 0};
  if (value.find(':') == std::string_view::npos) return HostPort{lower(value), 0};
  auto hp = parse_host_port(value);
  if (hp) hp->host = lower(hp->host);
  return hp;
}

bool is_unspecified(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

bool host_names_this_endpoint(const HostPort& host, const HostPort& listen) {
  if (host.port != 0 && host.port != listen.port) return false;
  if (host.host == "localhost" || host.host == "127.0.0.1" || host.host == "::1") return true;
  if (host.host == lower(listen.host)) return true;
  // A rebinding page needs a name of its own; an IP literal is its own origin already.
  return is_unspecified(listen.host) && (is_ipv4_literal(host.host) || is_ipv6_literal(host.host));
}

bool is_simple_content_type(std::string_view value) {
  constexpr std::array<std::string_view, 3> kSimple = {"text/plain", "application/x-www-form-urlencoded",
                                                       "multipart/form-data"};
  const std::string media = lower(trim(value.substr(0, value.find(';'))));
  return std::find(kSimple.begin(), kSimple.end(), media) != kSimple.end();
}

}  // namespace

std::optional<Refusal> refuse_browser_request(const HttpRequest& req, const HostPort& listen) {
  const auto header = [&](const char* name) -> const std::string* {
    const auto it = req.headers.find(name);
    return it == req.headers.end() ? nullptr : &it->second;
  };
  if (header("origin"))
    return Refusal{403, "origin", "refused: a request with an Origin header comes from a web page"};
  if (const auto* site = header("sec-fetch-site"); site && lower(trim(*site)) != "none")
    return Refusal{403, "fetch_site", "refused: Sec-Fetch-Site says a web page sent this request"};
  if (const auto* host = header("host")) {
    const auto hp = parse_host_header(trim(*host));
    if (!hp || !host_names_this_endpoint(*hp, listen))
      return Refusal{421, "host", "refused: the Host header does not name this admin endpoint"};
  }
  if (const auto* type = header("content-type"); type && is_simple_content_type(*type))
    return Refusal{415, "content_type",
                   "refused: a form or text/plain body may come from a web page; send no Content-Type or "
                   "application/json"};
  return std::nullopt;
}

}  // namespace kha::admin
