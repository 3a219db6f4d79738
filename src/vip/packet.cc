// VRRPv3 encode/decode: checksum over the pseudo-header, validity checks, drop reasons, unicast source check.
#include "vip/packet.h"

namespace kha::vip {
namespace {

std::uint32_t sum16(std::span<const std::uint8_t> data, std::uint32_t sum) {
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

}  // namespace

std::string_view drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::None: return "none";
    case DropReason::IpHeader: return "ip_header";
    case DropReason::Ttl: return "ttl";
    case DropReason::Version: return "version";
    case DropReason::Type: return "type";
    case DropReason::Length: return "length";
    case DropReason::AddressCount: return "address_count";
    case DropReason::Checksum: return "checksum";
    case DropReason::Vrid: return "vrid";
    case DropReason::Interval: return "interval";
    case DropReason::Peer: return "peer";
  }
  return "unknown";
}

DropReason unicast_source_check(const std::vector<IpAddress>& peers, const IpAddress& source) {
  if (peers.empty()) return DropReason::None;  // multicast: every speaker of the link may advertise
  bool link_local_peer = false;
  for (const auto& p : peers) {
    if (p == source) return DropReason::None;
    link_local_peer |= p.is_ipv6_link_local();
  }
  // IPv6 adverts come from the sender's link-local address (RFC 5798 5.1.2.1), which
  // global peer addresses do not name: such a source cannot be checked, so it passes;
  // peers given by their link-local addresses are checked strictly.
  if (source.is_ipv6_link_local() && !link_local_peer) return DropReason::None;
  return DropReason::Peer;
}

std::uint16_t vrrp_checksum(std::span<const std::uint8_t> message, const IpAddress& source,
                            const IpAddress& destination) {
  std::uint32_t sum = 0;
  sum = sum16({source.bytes.data(), source.size()}, sum);
  sum = sum16({destination.bytes.data(), destination.size()}, sum);
  // IPv4: zero, protocol, 16-bit length. IPv6 (RFC 8200 8.1): 32-bit length, 3 zero bytes,
  // next header. Both add up to length + protocol in 16-bit words.
  sum += static_cast<std::uint32_t>(message.size() >> 16) + (message.size() & 0xffff);
  sum += kVrrpProtocol;
  for (std::size_t i = 0; i + 1 < message.size(); i += 2) {
    if (i == 6) continue;  // the checksum field counts as zero
    sum += static_cast<std::uint32_t>(message[i] << 8 | message[i + 1]);
  }
  if (message.size() % 2) sum += static_cast<std::uint32_t>(message.back() << 8);
  return fold(sum);
}

std::vector<std::uint8_t> encode(const Advert& advert, const IpAddress& source, const IpAddress& destination) {
  std::vector<std::uint8_t> out(kHeaderSize);
  out[0] = 0x31;  // version 3, type 1
  out[1] = advert.vrid;
  out[2] = advert.priority;
  out[3] = static_cast<std::uint8_t>(advert.addresses.size());
  out[4] = static_cast<std::uint8_t>((advert.max_adver_int_cs >> 8) & 0x0f);
  out[5] = static_cast<std::uint8_t>(advert.max_adver_int_cs & 0xff);
  for (const auto& a : advert.addresses) out.insert(out.end(), a.bytes.begin(), a.bytes.begin() + a.size());
  std::uint16_t ck = vrrp_checksum(out, source, destination);
  out[6] = static_cast<std::uint8_t>(ck >> 8);
  out[7] = static_cast<std::uint8_t>(ck & 0xff);
  return out;
}

Decoded decode_message(std::span<const std::uint8_t> message, const PacketMeta& meta, std::uint8_t expected_vrid) {
  Decoded d;
  d.meta = meta;
  auto drop = [&](DropReason r) {
    d.reason = r;
    return d;
  };
  if (message.size() >= 4) {
    d.advert.vrid = message[1];
    d.advert.priority = message[2];
  }
  if (meta.ttl != kVrrpTtl) return drop(DropReason::Ttl);
  if (message.empty()) return drop(DropReason::Length);
  if ((message[0] >> 4) != 3) return drop(DropReason::Version);
  if ((message[0] & 0x0f) != 1) return drop(DropReason::Type);
  if (message.size() < kHeaderSize) return drop(DropReason::Length);
  std::size_t count = message[3];
  std::size_t alen = meta.source.size();
  if (count == 0 || message.size() < kHeaderSize + count * alen) return drop(DropReason::AddressCount);
  if (message.size() > kHeaderSize + count * alen) return drop(DropReason::Length);
  std::uint16_t carried = static_cast<std::uint16_t>(message[6] << 8 | message[7]);
  if (vrrp_checksum(message, meta.source, meta.destination) != carried) return drop(DropReason::Checksum);
  d.advert.max_adver_int_cs = static_cast<std::uint16_t>((message[4] & 0x0f) << 8 | message[5]);
  for (std::size_t i = 0; i < count; ++i) {
    IpAddress a;
    a.family = meta.source.family;
    for (std::size_t b = 0; b < alen; ++b) a.bytes[b] = message[kHeaderSize + i * alen + b];
    d.advert.addresses.push_back(a);
  }
  if (d.advert.vrid != expected_vrid) return drop(DropReason::Vrid);
  if (d.advert.max_adver_int_cs == 0) return drop(DropReason::Interval);
  return d;
}

Decoded decode_ipv4_packet(std::span<const std::uint8_t> packet, std::uint8_t expected_vrid) {
  Decoded d;
  if (packet.size() < 20 || (packet[0] >> 4) != 4) {
    d.reason = DropReason::IpHeader;
    return d;
  }
  std::size_t ihl = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
  std::size_t total = static_cast<std::size_t>(packet[2] << 8 | packet[3]);
  PacketMeta meta;
  meta.ttl = packet[8];
  for (int i = 0; i < 4; ++i) {
    meta.source.bytes[i] = packet[12 + i];
    meta.destination.bytes[i] = packet[16 + i];
  }
  d.meta = meta;
  // Linux raw sockets hand the total length back as sent; tolerate link-layer padding after it.
  if (ihl < 20 || packet.size() < ihl || packet[9] != kVrrpProtocol || total < ihl || total > packet.size()) {
    d.reason = DropReason::IpHeader;
    return d;
  }
  return decode_message(packet.subspan(ihl, total - ihl), meta, expected_vrid);
}

}  // namespace kha::vip
