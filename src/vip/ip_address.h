// IpAddress and Prefix: the small value types the VRRP speaker works with
// (a VRRP message carries IPv4 or IPv6 addresses, never names). Pure, no I/O.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kha::vip {

enum class Family { V4, V6 };

// One IPv4 or IPv6 address in network byte order; bytes beyond size() are zero.
struct IpAddress {
  Family family = Family::V4;
  std::array<std::uint8_t, 16> bytes{};

  std::size_t size() const { return family == Family::V4 ? 4 : 16; }
  bool is_ipv6_link_local() const { return family == Family::V6 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
  bool is_multicast() const { return family == Family::V4 ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff; }
  std::string to_string() const;
  // RFC 5798 6.4.3 compares primary addresses as unsigned integers: byte order does that.
  auto operator<=>(const IpAddress&) const = default;

  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  // The VRRP multicast groups: 224.0.0.18 and ff02::12.
  static IpAddress vrrp_group(Family family);
};

// Parses "10.0.0.1" or "fd00::1" (no brackets, no zone). nullopt when it is neither.
std::optional<IpAddress> parse_ip(std::string_view text);

// An address with its prefix length, as configured on an interface: "10.99.0.100/24".
struct Prefix {
  IpAddress address;
  int length = 0;
  std::string to_string() const;
  bool operator==(const Prefix&) const = default;
};

// Parses "ADDR/LEN"; a missing "/LEN" means a host route (/32 or /128).
// On failure returns nullopt and sets *why to what was expected.
std::optional<Prefix> parse_prefix(std::string_view text, std::string* why = nullptr);

}  // namespace kha::vip
