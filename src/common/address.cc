// HostPort parsing and printing, IPv4/IPv6 literal tests and IPv6 bracketing.
#include "common/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace kha {

std::string HostPort::to_string() const { return wrap_ipv6(host) + ':' + std::to_string(port); }

bool is_ipv4_literal(std::string_view host) {
  in_addr a{};
  return inet_pton(AF_INET, std::string(host).c_str(), &a) == 1;
}

bool is_ipv6_literal(std::string_view host) {
  in6_addr a{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &a) == 1;
}

std::optional<std::string> canonical_ip(std::string_view host) {
  const std::string text(host);
  char out[INET6_ADDRSTRLEN] = {};
  if (in_addr a{}; inet_pton(AF_INET, text.c_str(), &a) == 1 && inet_ntop(AF_INET, &a, out, sizeof out)) return out;
  if (in6_addr a{}; inet_pton(AF_INET6, text.c_str(), &a) == 1 && inet_ntop(AF_INET6, &a, out, sizeof out)) return out;
  return std::nullopt;
}

std::string wrap_ipv6(std::string_view host) {
  if (is_ipv6_literal(host)) return "[" + std::string(host) + "]";
  return std::string(host);
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<HostPort> {
    if (why) *why = reason;
    return std::nullopt;
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("expected host:port, IPv6 as [addr]:port; missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6_literal(out.host)) return fail("expected an IPv6 address inside [ ]");
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("expected ':port' after ']'");
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected host:port, e.g. 127.0.0.1:6443");
    if (text.find(':') != colon) return fail("expected an IPv6 address in brackets, e.g. [::1]:6443");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return fail("expected a host before ':port'");
  unsigned port = 0;
  const auto* end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port > 65535)
    return fail("expected a port number from 0 to 65535");
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

}  // namespace kha
