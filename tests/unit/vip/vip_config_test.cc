// vip: section parsing and validation: one case per rule, asserting the exact location and key.
#include "vip/vip_config.h"

#include <gtest/gtest.h>

namespace kha::vip {
namespace {

using namespace std::chrono_literals;

const char* kFull = R"(log_format: text
frontends: []
vip:
  interface: eth0
  vrid: 51
  priority: 150
  advert_interval: 500ms
  preempt: false
  preempt_delay: 10s
  addresses: [10.99.0.100/24, 10.99.0.101]
  peers: [10.99.0.2]
  source: 10.99.0.1
  track:
    url: http://127.0.0.1:8081/readyz
    weight: 60
    interval: 500ms
    timeout: 300ms
    fall: 3
    rise: 1
  admin: 127.0.0.1:9099
)";

TEST(VipConfigTest, ParsesEveryKey) {
  auto r = parse_vip_yaml(kFull, "kha.yaml");
  ASSERT_TRUE(r.ok()) << format_diagnostics(r.errors());
  const VipConfig& c = r.value();
  EXPECT_EQ(c.interface, "eth0");
  EXPECT_EQ(c.vrid, 51);
  EXPECT_EQ(c.priority, 150);
  EXPECT_EQ(c.advert_interval, 500ms);
  EXPECT_FALSE(c.preempt);
  EXPECT_EQ(c.preempt_delay, 10s);
  ASSERT_EQ(c.addresses.size(), 2u);
  EXPECT_EQ(c.addresses[1].to_string(), "10.99.0.101/32");
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].to_string(), "10.99.0.2");
  EXPECT_EQ(c.source->to_string(), "10.99.0.1");
  ASSERT_TRUE(c.track);
  EXPECT_EQ(c.track->host, "127.0.0.1");
  EXPECT_EQ(c.track->port, 8081);
  EXPECT_EQ(c.track->path, "/readyz");
  EXPECT_EQ(c.track->weight, 60);
  EXPECT_EQ(c.track->interval, 500ms);
  EXPECT_EQ(c.track->timeout, 300ms);
  EXPECT_EQ(c.track->fall, 3);
  EXPECT_EQ(c.track->rise, 1);
  EXPECT_EQ(c.admin, "127.0.0.1:9099");
}

TEST(VipConfigTest, DefaultsMatchTheRfcAndKeepalived) {
  auto r = parse_vip_yaml("vip:\n  interface: eth0\n  vrid: 7\n  addresses: [fd99::100/64]\n", "k.yaml");
  ASSERT_TRUE(r.ok()) << format_diagnostics(r.errors());
  EXPECT_EQ(r.value().priority, 100);
  EXPECT_EQ(r.value().advert_interval, 1s);
  EXPECT_TRUE(r.value().preempt);
  EXPECT_EQ(r.value().family(), Family::V6);
  EXPECT_TRUE(r.value().peers.empty());
  EXPECT_FALSE(r.value().track);
}

std::string first_error(const std::string& yaml) {
  auto r = parse_vip_yaml(yaml, "k.yaml");
  if (r.ok()) return "(accepted)";
  return r.errors().front().to_string();
}

TEST(VipConfigTest, ErrorsNameFileLineColumnAndKey) {
  const std::string head = "vip:\n  interface: eth0\n  addresses: [10.0.0.100/24]\n";
  EXPECT_EQ(first_error(head + "  vrid: 0\n"), "k.yaml:4:9: vip.vrid: must be 1-255, got 0");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  priority: 0\n"),
            "k.yaml:5:13: vip.priority: must be 1-254 (or 255 for the address owner), got 0");
  EXPECT_EQ(first_error(head + "  vrid: x\n"), "k.yaml:4:9: vip.vrid: expected an integer, got \"x\"");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  advert_interval: 1\n"),
            "k.yaml:5:20: vip.advert_interval: expected a duration with a unit (ms, s, m, h) such as \"5s\", got \"1\"");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  preempt_delay: 1000000000h\n"),
            "k.yaml:5:18: vip.preempt_delay: expected a duration of at most 1000000h, got \"1000000000h\"");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  preempt_delay: 2h\n"), "k.yaml:5:18: vip.preempt_delay: must be 0s-1h, got 2h");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  advert_interval: 15ms\n"),
            "k.yaml:5:20: vip.advert_interval: must be 10ms-40950ms in whole centiseconds, got 15ms");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  preempt: yes\n"), "k.yaml:5:12: vip.preempt: expected true or false, got \"yes\"");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  color: red\n"),
            "k.yaml:5:3: vip.color: unknown key \"color\"; expected one of: interface, vrid, priority, advert_interval, "
            "preempt, preempt_delay, addresses, peers, source, track, admin");
  // The config reader's own checks come with it: typo hints and repeated keys.
  EXPECT_EQ(first_error(head + "  vrid: 1\n  priorty: 5\n")
                .rfind("k.yaml:5:3: vip.priorty: unknown key \"priorty\" (did you mean \"priority\"?)", 0),
            0u);
  EXPECT_EQ(first_error(head + "  vrid: 1\n  vrid: 2\n"), "k.yaml:5:3: vip.vrid: duplicate key \"vrid\" (first at line 4)");
  EXPECT_EQ(first_error(head + "  vrid: 1\n  track:\n    url: http://127.0.0.1/\n    rize: 2\n"),
            "k.yaml:7:5: vip.track.rize: unknown key \"rize\" (did you mean \"rise\"?); expected one of: url, weight, "
            "interval, timeout, fall, rise");
  EXPECT_EQ(first_error("vip:\n  vrid: 1\n  addresses: [10.0.0.1/24]\n"),
            "k.yaml:2:3: vip.interface: required: a network interface name (under 16 characters)");
}

TEST(VipConfigTest, RejectsBadAddressesAndPeers) {
  const std::string head = "vip:\n  interface: eth0\n  vrid: 1\n";
  EXPECT_EQ(first_error(head + "  addresses: [10.0.0.1/40]\n"), "k.yaml:4:14: vip.addresses: prefix length must be 1-32, got \"40\"");
  EXPECT_EQ(first_error(head + "  addresses: [10.0.0.1/24, fd00::1/64]\n"),
            "k.yaml:4:14: vip.addresses: all addresses must be IPv4 or all IPv6 (run one instance per family), got fd00::1/64");
  EXPECT_EQ(first_error(head + "  addresses: [fe80::5/64]\n"),
            "k.yaml:4:14: vip.addresses: a link-local address cannot be virtual: fe80::5/64");
  EXPECT_EQ(first_error(head + "  addresses: []\n"), "k.yaml:4:14: vip.addresses: required: 1-255 virtual addresses ADDR/LEN");
  EXPECT_EQ(first_error(head + "  addresses: [10.0.0.1/24]\n  peers: [fd00::2]\n"),
            "k.yaml:5:10: vip.peers: a peer must have the addresses' family, got fd00::2");
  EXPECT_EQ(first_error(head + "  addresses: [10.0.0.1/24]\n  peers: [lb2]\n"),
            "k.yaml:5:10: vip.peers: expected an IP address, got \"lb2\"");
}

TEST(VipConfigTest, RejectsBadTracking) {
  const std::string head = "vip:\n  interface: eth0\n  vrid: 1\n  addresses: [10.0.0.1/24]\n";
  EXPECT_EQ(first_error(head + "  track:\n    url: https://127.0.0.1:8081/readyz\n"),
            "k.yaml:6:10: vip.track.url: expected http://HOST:PORT/PATH with an IP literal host, e.g. "
            "http://127.0.0.1:8081/readyz, got \"https://127.0.0.1:8081/readyz\"");
  EXPECT_EQ(first_error(head + "  track:\n    weight: 10\n"),
            "k.yaml:6:5: vip.track.url: required: the local proxy's readiness URL, e.g. http://127.0.0.1:8081/readyz");
  EXPECT_EQ(first_error(head + "  track:\n    url: http://127.0.0.1:8081/readyz\n    weight: 300\n"),
            "k.yaml:7:13: vip.track.weight: must be 0 (give up mastership) or 1-254 (priority lost while failing), got 300");
  EXPECT_EQ(first_error(head + "  priority: 255\n  track:\n    url: http://127.0.0.1:8081/readyz\n"),
            "k.yaml:7:5: vip.track: the address owner (priority 255) cannot be tracked; use priority 1-254");
}

TEST(VipConfigTest, MissingSectionAndBrokenYaml) {
  EXPECT_EQ(first_error("frontends: []\n"), "k.yaml: vip: missing section: the file has no top-level vip: mapping");
  EXPECT_EQ(first_error("vip:\n  vrid: [1\n").substr(0, 20), "k.yaml:3:1: invalid ");
}

TEST(VipConfigTest, ReportsEveryErrorAtOnce) {
  auto r = parse_vip_yaml("vip:\n  vrid: 0\n  priority: 300\n", "k.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors().size(), 4u);  // interface, vrid, priority, addresses
}

TEST(VipConfigTest, TrackUrlForms) {
  TrackConfig t;
  EXPECT_EQ(parse_track_url("http://[::1]:8081/readyz", &t), "");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(parse_track_url("http://127.0.0.1", &t), "");
  EXPECT_EQ(t.port, 80);
  EXPECT_EQ(t.path, "/");
  EXPECT_NE(parse_track_url("http://localhost:8081/readyz", &t), "");
}

}  // namespace
}  // namespace kha::vip
