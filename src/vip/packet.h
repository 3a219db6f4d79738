// VRRPv3 packet codec (RFC 5798 section 5) for IPv4 and IPv6. Pure: bytes in, values out.
//
//   0                   1                   2                   3
//   |Ver=3 |Type=1 | Virtual Rtr ID | Priority      | Count IPvX Addr|
//   |(rsvd)| Max Adver Int (centiseconds)  |         Checksum        |
//   |                IPvX address(es): 4 or 16 bytes each            |
//
// The checksum is the 16-bit one's complement of the one's complement sum over an
// IPv4/IPv6 pseudo-header (source, destination, zero, protocol 112, VRRP length) and
// the message with the checksum field zero. The destination is the real one:
// 224.0.0.18 / ff02::12, or the peer's address in unicast mode.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vip/ip_address.h"

namespace kha::vip {

inline constexpr std::uint8_t kVrrpProtocol = 112;
inline constexpr int kVrrpTtl = 255;
inline constexpr std::size_t kHeaderSize = 8;

// Why a received packet was dropped. Every value is a metrics label (drop_reason_name).
enum class DropReason {
  None,          // accepted
  IpHeader,      // IPv4 header truncated, not IPv4, not protocol 112, or its lengths disagree
  Ttl,           // TTL / hop limit is not 255: the packet crossed a router (RFC 5798 7.1)
  Version,       // version is not 3 (VRRPv2 speakers, e.g. keepalived without vrrp_version 3)
  Type,          // type is not 1 (Advertisement)
  Length,        // shorter than the 8-byte header, or bytes beyond the address list
  AddressCount,  // count is 0, or names more addresses than the packet holds
  Checksum,      // checksum over pseudo-header + message does not verify
  Vrid,          // a valid advertisement for another virtual router on this link
  Interval,      // Max Adver Int is 0
  Peer,          // unicast mode: the source is not one of the configured peers (as keepalived's
                 // unicast_peer): anyone else on the link could otherwise take the address
};
inline constexpr DropReason kAllDropReasons[] = {
    DropReason::IpHeader, DropReason::Ttl,      DropReason::Version, DropReason::Type,     DropReason::Length,
    DropReason::AddressCount, DropReason::Checksum, DropReason::Vrid, DropReason::Interval, DropReason::Peer};

// DropReason::Peer when peers are configured (unicast) and source is none of them. An
// IPv6 link-local source passes unless the peers are themselves given as link-local
// addresses (IPv6 adverts are sent from link-local addresses, global peers cannot name them).
DropReason unicast_source_check(const std::vector<IpAddress>& peers, const IpAddress& source);

// "ttl", "checksum", ...; "none" for DropReason::None.
std::string_view drop_reason_name(DropReason reason);

// One advertisement. All addresses have the family of the packet carrying it.
struct Advert {
  std::uint8_t vrid = 0;
  std::uint8_t priority = 100;          // 0 = master stopping, 255 = address owner
  std::uint16_t max_adver_int_cs = 100;  // 12 bits: 1-4095 centiseconds
  std::vector<IpAddress> addresses;
  bool operator==(const Advert&) const = default;
};

// Where a message came from, as the IP layer reports it.
struct PacketMeta {
  IpAddress source;
  IpAddress destination;
  int ttl = 0;  // TTL (IPv4) or hop limit (IPv6)
};

struct Decoded {
  DropReason reason = DropReason::None;  // None: advert is valid
  Advert advert;                         // filled as far as the packet could be read
  PacketMeta meta;
};

// Checksum of a VRRP message (its checksum field is treated as zero) with the pseudo-header
// for source -> destination. Both addresses must have the same family.
std::uint16_t vrrp_checksum(std::span<const std::uint8_t> message, const IpAddress& source,
                            const IpAddress& destination);

// Encodes advert as a VRRPv3 message (no IP header) with its checksum for source -> destination.
// Requires 1-255 addresses of source's family and max_adver_int_cs < 4096.
std::vector<std::uint8_t> encode(const Advert& advert, const IpAddress& source, const IpAddress& destination);

// Checks and decodes a VRRPv3 message (no IP header; the IP layer's facts are in meta).
// expected_vrid: the virtual router configured on the receiving interface.
Decoded decode_message(std::span<const std::uint8_t> message, const PacketMeta& meta, std::uint8_t expected_vrid);

// Same, from a whole IPv4 packet as a raw IPv4 socket returns it (header included).
Decoded decode_ipv4_packet(std::span<const std::uint8_t> packet, std::uint8_t expected_vrid);

}  // namespace kha::vip
