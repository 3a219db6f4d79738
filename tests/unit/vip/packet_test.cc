// VRRPv3 codec: round trips, checksums against packets captured from keepalived 2.2.7
// (../shared/notes/vrrp-lab/sample.txt), and one test per drop reason.
#include "vip/packet.h"

#include <gtest/gtest.h>

namespace kha::vip {
namespace {

using Bytes = std::vector<std::uint8_t>;

IpAddress ip(const char* text) { return *parse_ip(text); }

// sample.txt frame 1 without its Ethernet header: keepalived lb1 (10.99.0.1, prio 150),
// vrid 51, advert_int 1 s, VIP 10.99.0.100, to 224.0.0.18, TTL 255, IP id 1.
const Bytes kKeepalivedFrame1 = {0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0,
                                 0x36, 0x0a, 0x63, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x12, 0x31, 0x33,
                                 0x96, 0x01, 0x00, 0x64, 0x42, 0xad, 0x0a, 0x63, 0x00, 0x64};
// sample.txt frame 3: the same master stopping (priority 0, SIGTERM).
const Bytes kKeepalivedFrame3 = {0x45, 0xc0, 0x00, 0x20, 0x00, 0x19, 0x00, 0x00, 0xff, 0x70, 0xd0,
                                 0x1e, 0x0a, 0x63, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x12, 0x31, 0x33,
                                 0x00, 0x01, 0x00, 0x64, 0xd8, 0xad, 0x0a, 0x63, 0x00, 0x64};

Advert lab_advert(std::uint8_t priority) { return Advert{51, priority, 100, {ip("10.99.0.100")}}; }

Bytes v4_message(std::uint8_t priority = 150) { return encode(lab_advert(priority), ip("10.99.0.1"), ip("224.0.0.18")); }

PacketMeta v4_meta() { return {ip("10.99.0.1"), ip("224.0.0.18"), 255}; }

TEST(PacketTest, DecodesKeepalivedAdvert) {
  Decoded d = decode_ipv4_packet(kKeepalivedFrame1, 51);
  ASSERT_EQ(d.reason, DropReason::None);
  EXPECT_EQ(d.advert, lab_advert(150));
  EXPECT_EQ(d.meta.source, ip("10.99.0.1"));
  EXPECT_EQ(d.meta.destination, ip("224.0.0.18"));
  EXPECT_EQ(d.meta.ttl, 255);
}

TEST(PacketTest, EncodesExactlyWhatKeepalivedSends) {
  Bytes expected(kKeepalivedFrame1.begin() + 20, kKeepalivedFrame1.end());
  EXPECT_EQ(v4_message(150), expected);  // 31 33 96 01 00 64 42 ad 0a 63 00 64
  Bytes stop(kKeepalivedFrame3.begin() + 20, kKeepalivedFrame3.end());
  EXPECT_EQ(v4_message(0), stop);
  Decoded d = decode_ipv4_packet(kKeepalivedFrame3, 51);
  ASSERT_EQ(d.reason, DropReason::None);
  EXPECT_EQ(d.advert.priority, 0);
}

TEST(PacketTest, ChecksumsMatchCapturedValues) {
  // sample.txt: frame 5 (10.99.0.3, prio 200) 0x10ab; frame 6 unicast 10.99.0.1 -> 10.99.0.2 0x185b.
  Bytes m = encode(lab_advert(200), ip("10.99.0.3"), ip("224.0.0.18"));
  EXPECT_EQ(m[6] << 8 | m[7], 0x10ab);
  Bytes u = encode(lab_advert(150), ip("10.99.0.1"), ip("10.99.0.2"));
  EXPECT_EQ(u[6] << 8 | u[7], 0x185b);
  // Unicast mode puts the peer in the pseudo-header: verifying it against the group fails.
  EXPECT_EQ(decode_message(u, {ip("10.99.0.1"), ip("10.99.0.2"), 255}, 51).reason, DropReason::None);
  EXPECT_EQ(decode_message(u, v4_meta(), 51).reason, DropReason::Checksum);
}

TEST(PacketTest, Ipv6MatchesKeepalivedChecksum) {
  // sample.txt: fe80::99:ff:fe00:1 -> ff02::12, vrid 52, prio 150, fd99::100, checksum 0x3c14.
  Advert a{52, 150, 100, {ip("fd99::100")}};
  Bytes m = encode(a, ip("fe80::99:ff:fe00:1"), ip("ff02::12"));
  ASSERT_EQ(m.size(), 24u);
  EXPECT_EQ(m[6] << 8 | m[7], 0x3c14);
  Decoded d = decode_message(m, {ip("fe80::99:ff:fe00:1"), ip("ff02::12"), 255}, 52);
  ASSERT_EQ(d.reason, DropReason::None);
  EXPECT_EQ(d.advert, a);
}

TEST(PacketTest, RoundTripsSeveralAddressesAndLongInterval) {
  Advert a{7, 254, 4095, {ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")}};
  Bytes m = encode(a, ip("192.0.2.10"), ip("224.0.0.18"));
  Decoded d = decode_message(m, {ip("192.0.2.10"), ip("224.0.0.18"), 255}, 7);
  ASSERT_EQ(d.reason, DropReason::None);
  EXPECT_EQ(d.advert, a);
}

TEST(PacketTest, DropsWrongTtl) {
  EXPECT_EQ(decode_message(v4_message(), {ip("10.99.0.1"), ip("224.0.0.18"), 254}, 51).reason, DropReason::Ttl);
  Bytes p = kKeepalivedFrame1;
  p[8] = 64;
  EXPECT_EQ(decode_ipv4_packet(p, 51).reason, DropReason::Ttl);
  Advert a{52, 150, 100, {ip("fd99::100")}};
  Bytes m = encode(a, ip("fe80::1"), ip("ff02::12"));
  EXPECT_EQ(decode_message(m, {ip("fe80::1"), ip("ff02::12"), 1}, 52).reason, DropReason::Ttl);
}

TEST(PacketTest, DropsVersion2) {
  Bytes m = v4_message();
  m[0] = 0x21;  // keepalived's default VRRPv2
  EXPECT_EQ(decode_message(m, v4_meta(), 51).reason, DropReason::Version);
}

TEST(PacketTest, DropsUnknownType) {
  Bytes m = v4_message();
  m[0] = 0x32;
  EXPECT_EQ(decode_message(m, v4_meta(), 51).reason, DropReason::Type);
}

TEST(PacketTest, DropsBadChecksum) {
  Bytes p = kKeepalivedFrame1;
  p[27] ^= 0x01;  // 0x42ad -> 0x42ac, as frame 4 of the sample is off by one
  EXPECT_EQ(decode_ipv4_packet(p, 51).reason, DropReason::Checksum);
  Bytes m = v4_message();
  m[2] = 200;  // priority changed in flight
  EXPECT_EQ(decode_message(m, v4_meta(), 51).reason, DropReason::Checksum);
}

TEST(PacketTest, DropsForeignVrid) {
  Decoded d = decode_ipv4_packet(kKeepalivedFrame1, 52);
  EXPECT_EQ(d.reason, DropReason::Vrid);
  EXPECT_EQ(d.advert.vrid, 51);
}

TEST(PacketTest, DropsShortAndPaddedMessages) {
  Bytes m = v4_message();
  EXPECT_EQ(decode_message({m.data(), 7}, v4_meta(), 51).reason, DropReason::Length);
  EXPECT_EQ(decode_message({m.data(), 0}, v4_meta(), 51).reason, DropReason::Length);
  Bytes padded = m;
  padded.push_back(0);
  padded.push_back(0);
  EXPECT_EQ(decode_message(padded, v4_meta(), 51).reason, DropReason::Length);
}

TEST(PacketTest, DropsBadAddressCount) {
  Bytes m = v4_message();
  m[3] = 2;  // says two, carries one
  EXPECT_EQ(decode_message(m, v4_meta(), 51).reason, DropReason::AddressCount);
  Advert none{51, 100, 100, {}};
  Bytes z = encode(none, ip("10.99.0.1"), ip("224.0.0.18"));
  EXPECT_EQ(decode_message(z, v4_meta(), 51).reason, DropReason::AddressCount);
  // An IPv4-sized address list in an IPv6 packet is too short for its count.
  Bytes v6 = v4_message();
  EXPECT_EQ(decode_message(v6, {ip("fe80::1"), ip("ff02::12"), 255}, 51).reason, DropReason::AddressCount);
}

TEST(PacketTest, DropsZeroInterval) {
  Advert a = lab_advert(100);
  a.max_adver_int_cs = 0;
  Bytes m = encode(a, ip("10.99.0.1"), ip("224.0.0.18"));
  EXPECT_EQ(decode_message(m, v4_meta(), 51).reason, DropReason::Interval);
}

TEST(PacketTest, DropsBrokenIpHeader) {
  EXPECT_EQ(decode_ipv4_packet({kKeepalivedFrame1.data(), 10}, 51).reason, DropReason::IpHeader);
  Bytes p = kKeepalivedFrame1;
  p[9] = 6;  // TCP
  EXPECT_EQ(decode_ipv4_packet(p, 51).reason, DropReason::IpHeader);
  p = kKeepalivedFrame1;
  p[3] = 0x40;  // total length beyond the buffer
  EXPECT_EQ(decode_ipv4_packet(p, 51).reason, DropReason::IpHeader);
  p = kKeepalivedFrame1;
  p[0] = 0x65;
  EXPECT_EQ(decode_ipv4_packet(p, 51).reason, DropReason::IpHeader);
}

TEST(PacketTest, EveryDropReasonHasAMetricName) {
  for (DropReason r : kAllDropReasons) EXPECT_NE(drop_reason_name(r), "unknown");
  EXPECT_EQ(drop_reason_name(DropReason::Checksum), "checksum");
}

TEST(PrefixTest, ParsesAndRejects) {
  std::string why;
  auto p = parse_prefix("10.99.0.100/24", &why);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "10.99.0.100/24");
  EXPECT_EQ(parse_prefix("fd99::100")->length, 128);
  EXPECT_FALSE(parse_prefix("10.99.0.100/33", &why));
  EXPECT_NE(why.find("1-32"), std::string::npos);
  EXPECT_FALSE(parse_prefix("vip.example/24", &why));
  EXPECT_FALSE(parse_prefix("224.0.0.18/32", &why));
  EXPECT_NE(why.find("multicast"), std::string::npos);
}

}  // namespace
// Issue #14: in unicast mode an advert from anyone but a configured peer is dropped,
// as keepalived's unicast_peer does; multicast mode listens to the whole link.
TEST(PacketTest, UnicastModeTakesAdvertsOnlyFromConfiguredPeers) {
  const auto peer = IpAddress::v4(192, 0, 2, 11);
  const auto stranger = IpAddress::v4(192, 0, 2, 99);
  EXPECT_EQ(unicast_source_check({peer}, peer), DropReason::None);
  EXPECT_EQ(unicast_source_check({peer}, stranger), DropReason::Peer);
  EXPECT_EQ(unicast_source_check({}, stranger), DropReason::None);
  EXPECT_EQ(drop_reason_name(DropReason::Peer), "peer");
  const auto global_peer = *parse_ip("fd99::2");
  const auto link_local = *parse_ip("fe80::2");
  EXPECT_EQ(unicast_source_check({global_peer}, *parse_ip("fd99::9")), DropReason::Peer);
  EXPECT_EQ(unicast_source_check({global_peer}, link_local), DropReason::None);  // cannot be matched: passes
  EXPECT_EQ(unicast_source_check({link_local}, *parse_ip("fe80::9")), DropReason::Peer);
}

}  // namespace kha::vip
