// check-certs logic: SAN matching (IP exact, DNS with the one-label wildcard), the
// endpoints and dialed names taken from a plan, and the report.
#include <gtest/gtest.h>

#include "plan_fixture.h"
#include "planner/cert_check.h"

namespace kha::planner::testing {
namespace {

TEST(SanCovers, IpMatchesIpSansExactly) {
  const SanSet s{{"10.0.0.1", "*.example.com"}, {"10.0.0.1", "fd00::1"}};
  EXPECT_TRUE(san_covers(s, "10.0.0.1"));
  EXPECT_TRUE(san_covers(s, "fd00:0:0::1"));  // another spelling of the same address
  EXPECT_FALSE(san_covers(s, "10.0.0.10"));
  EXPECT_FALSE(san_covers(s, "::1"));
  EXPECT_FALSE(san_covers(SanSet{{"10.0.0.1"}, {}}, "10.0.0.1"));  // a DNS SAN never covers an IP
}

TEST(SanCovers, DnsExactAndOneLabelWildcard) {
  const SanSet s{{"LB.Example.com", "*.apps.example.com"}, {"10.0.0.1"}};
  EXPECT_TRUE(san_covers(s, "lb.example.com"));
  EXPECT_TRUE(san_covers(s, "lb.example.com."));
  EXPECT_TRUE(san_covers(s, "api.apps.example.com"));
  EXPECT_FALSE(san_covers(s, "a.b.apps.example.com"));  // the star is one label
  EXPECT_FALSE(san_covers(s, "apps.example.com"));      // and never empty
  EXPECT_FALSE(san_covers(s, "example.com"));
  EXPECT_FALSE(san_covers(s, "lb2.example.com"));
  EXPECT_FALSE(san_covers(SanSet{{"a*.example.com"}, {}}, "ab.example.com"));  // partial stars are not wildcards
}

const DialedName* find(const CertTarget& t, const std::string& name) {
  for (const auto& n : t.names)
    if (n.name == name) return &n;
  return nullptr;
}

std::vector<std::string> names(const CertTarget& t) {
  std::vector<std::string> out;
  for (const auto& n : t.names) out.push_back(n.name);
  return out;
}

// Localhost LB (the default): every apiserver needs 127.0.0.1 (nodes dial their LB, which
// passes TLS through) and its own access address (the LB's upstream); the first control
// plane's address only on cp1 (kubeadm's controlPlaneEndpoint, the join endpoint).
TEST(CertTargets, LocalhostLb) {
  auto p = run(kBaseIni);
  const auto targets = cert_targets(p->plan());
  ASSERT_EQ(targets.size(), 6u);  // three apiservers, three etcd members
  EXPECT_EQ(targets[0].component, "apiserver");
  EXPECT_EQ(targets[0].address.to_string(), "192.168.0.1:6443");
  EXPECT_EQ(targets[1].address.to_string(), "10.0.0.2:6443");
  EXPECT_EQ(targets[3].component, "etcd");
  EXPECT_EQ(targets[3].address.to_string(), "192.168.0.1:2379");
  EXPECT_NE(find(targets[0], "127.0.0.1"), nullptr);
  EXPECT_NE(find(targets[0], "192.168.0.1"), nullptr);
  EXPECT_NE(find(targets[0], "10.0.0.1"), nullptr);  // controlPlaneEndpoint: cp1's main_ip
  EXPECT_EQ(find(targets[1], "192.168.0.1"), nullptr);
  EXPECT_EQ(find(targets[1], "10.0.0.1"), nullptr);
  EXPECT_NE(find(targets[1], "10.0.0.2"), nullptr);
  EXPECT_NE(find(targets[1], "127.0.0.1"), nullptr);
  const auto* up = find(targets[2], "10.0.0.3");
  ASSERT_NE(up, nullptr);
  EXPECT_NE(std::find(up->dialed_by.begin(), up->dialed_by.end(), "localhost LB upstream 10.0.0.3:6443"),
            up->dialed_by.end());
  EXPECT_EQ(names(targets[4]), (std::vector<std::string>{"10.0.0.2", "127.0.0.1"}));  // etcd cp2
  // A loopback name dialed on a server's own host reaches that server only.
  EXPECT_EQ(find(targets[4], "127.0.0.1")->dialed_by,
            (std::vector<std::string>{"cp2 etcd listen https://127.0.0.1:2379"}));
  for (const auto& who : find(targets[1], "127.0.0.1")->dialed_by) EXPECT_NE(who.rfind("cp1 ", 0), 0u) << who;
}

// External LB with a name and an address, IPv6 on: the name and the address on every
// apiserver, ::1 where the localhost LB listens on it, the kube-vip address when enabled.
TEST(CertTargets, ExternalLbAndVip) {
  auto p = run(kBaseIni,
               "apiserver_loadbalancer_domain_name: LB.example.com\n"
               "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n"
               "kube_vip_enabled: true\nkube_vip_address: 10.0.0.50\n");
  for (const auto& t : cert_targets(p->plan())) {
    if (t.component != "apiserver") continue;
    EXPECT_NE(find(t, "lb.example.com"), nullptr) << t.host;
    EXPECT_NE(find(t, "10.0.0.100"), nullptr) << t.host;
    EXPECT_NE(find(t, "10.0.0.50"), nullptr) << t.host;
  }
  auto v6 = run(kBaseIni, "ipv6_stack: true\n");
  EXPECT_NE(find(cert_targets(v6->plan())[1], "::1"), nullptr);
}

TEST(CertCheck, ReportsExactlyTheMissingNames) {
  auto p = run(kBaseIni);
  auto targets = cert_targets(p->plan());
  const auto ok = judge(targets[1], SanSet{{"localhost"}, {"10.0.0.2", "127.0.0.1", "::1"}}, "CN=kube-apiserver");
  EXPECT_TRUE(ok.missing.empty());
  const auto bad = judge(targets[0], SanSet{{"localhost"}, {"192.168.0.1"}}, "CN=kube-apiserver");
  std::vector<std::string> missing;
  for (const auto& m : bad.missing) missing.push_back(m.name);
  EXPECT_EQ(missing, (std::vector<std::string>{"127.0.0.1", "10.0.0.1"}));
  const auto down = unreachable(targets[2], "connect: Connection refused");
  EXPECT_FALSE(all_covered({ok, bad}));
  EXPECT_FALSE(all_covered({ok, down}));
  EXPECT_TRUE(all_covered({ok}));
  const std::string text = cert_checks_to_text({ok, bad, down});
  EXPECT_NE(text.find("apiserver cp2 10.0.0.2:6443: ok"), std::string::npos) << text;
  EXPECT_NE(text.find("apiserver cp1 192.168.0.1:6443: MISSING 2 of"), std::string::npos) << text;
  EXPECT_NE(text.find("  127.0.0.1  dialed by "), std::string::npos) << text;
  EXPECT_NE(text.find("apiserver cp3 10.0.0.3:6443: UNREACHABLE: connect: Connection refused"), std::string::npos);
  EXPECT_NE(text.find("3 endpoints: 1 ok, 1 missing names, 1 unreachable"), std::string::npos) << text;
  const auto json = cert_checks_to_json({ok, bad, down});
  EXPECT_FALSE(json["ok"].get<bool>());
  EXPECT_EQ(json["endpoints"][1]["status"], "missing");
  EXPECT_EQ(json["endpoints"][1]["missing"][0]["name"], "127.0.0.1");
  EXPECT_EQ(json["endpoints"][2]["error"], "connect: Connection refused");
}

}  // namespace
}  // namespace kha::planner::testing
