// libFuzzer target: a VRRP packet as the raw socket hands it over (IPv4 header and all),
// and the same bytes as a bare IPv6 message. Must decode or drop, never crash.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vip/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kha::vip;
  const std::span<const std::uint8_t> bytes(data, size);
  (void)decode_ipv4_packet(bytes, 51);
  PacketMeta meta;
  meta.source = *parse_ip("fe80::1");
  meta.destination = IpAddress::vrrp_group(Family::V6);
  (void)decode_message(bytes, meta, 51);
  return 0;
}
