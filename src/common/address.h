// HostPort: "127.0.0.1:6443", "[::1]:6443", "apiserver.example.com:6443".
// IPv6 literals must be bracketed when a port follows, as in URLs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kha {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  bool is_ipv6_literal() const { return host.find(':') != std::string::npos; }
  // "[::1]:6443" or "10.0.0.1:6443"
  std::string to_string() const;
};

// Parses host:port; on failure returns nullopt and sets *why to what was expected.
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why = nullptr);

// Brackets an IPv6 literal, leaves IPv4 and names alone (Ansible's ipwrap).
std::string wrap_ipv6(std::string_view host);

bool is_ipv4_literal(std::string_view host);
bool is_ipv6_literal(std::string_view host);

// The canonical text of an IP literal ("fd00:0::1" -> "fd00::1"), so that two spellings of one
// address compare equal; nullopt when `host` is no IP literal.
std::optional<std::string> canonical_ip(std::string_view host);

}  // namespace kha
