// apiserver_sans in Kubespray's order on a dual-stack inventory: each source over all
// control planes in turn (kubeadm-setup.yml "aggregate all SANs"), for 2.31 and 2.28.
#include <gtest/gtest.h>

#include "plan_fixture.h"

namespace kha::planner::testing {
namespace {

const char* kDualIni = R"([kube_control_plane]
cp1 ip=10.0.0.1 access_ip=192.168.0.1 ip6=fd00::1 access_ip6=fd01::1
cp2 ip=10.0.0.2 ip6=fd00::2
cp3 ip=10.0.0.3 ip6=fd00::3

[etcd:children]
kube_control_plane

[kube_node]
w1 ip=10.0.0.11 ip6=fd00::11

[k8s_cluster:children]
kube_control_plane
kube_node
)";

std::map<std::string, Facts> dual_facts() {
  std::map<std::string, Facts> f;
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    f["cp" + n] = Facts{"10.0.0." + n, "fd00::" + n, "node-" + n, "node-" + n + ".example.com", "f"};
  }
  f["w1"] = Facts{"10.0.0.11", "fd00::11", "worker", "worker.example.com", "f"};
  return f;
}

const std::vector<std::string> kBase{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                     "kubernetes.default.svc.cluster.local", "10.233.0.1", "localhost", "127.0.0.1",
                                     "::1"};

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(SansOrder, DualStackSourceBySource) {
  auto p = run(kDualIni, "ipv6_stack: true\nkube_vip_address: 10.0.0.50\n", KubesprayVersion::V2_31, dual_facts());
  // main_access_ip and main_ip are the IPv4 scalars; the IPv6 addresses come from the
  // default-IPv6 fact only (access_ip6 fd01::1 is not a SAN), after all default IPv4s.
  EXPECT_EQ(p->cluster().apiserver_sans,
            cat(kBase, {"192.168.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "fd00::1", "fd00::2", "fd00::3", "node-1",
                        "node-2", "node-3", "node-1.example.com", "node-2.example.com", "node-3.example.com", "cp1",
                        "10.0.0.50"}));
  EXPECT_FALSE(p->cluster().kube_vip_address.has_value());  // kube_vip_enabled is false
}

TEST(SansOrder, DualStackWithoutFactsKeepsOnlyTheInventoryScalars) {
  auto p = run(kDualIni, "ipv6_stack: true\n");
  EXPECT_EQ(p->cluster().apiserver_sans,
            cat(kBase, {"192.168.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "cp1"}));
  EXPECT_TRUE(p->plan().explanations.count("cluster/apiserver_sans"));
  // The IPv6 addresses are then in no SAN, and the plan says so (before, main_access_ips put
  // them in and the warning could never fire).
  EXPECT_EQ(p->severity("san-missing-ipv6"), "warning");
}

TEST(SansOrder, Ipv6OnlyUsesTheIpv6Scalars) {
  auto p = run(kDualIni, "ipv4_stack: false\nipv6_stack: true\n", KubesprayVersion::V2_31, dual_facts());
  const auto& s = p->cluster().apiserver_sans;
  ASSERT_GE(s.size(), 14u);
  EXPECT_EQ(std::vector<std::string>(s.begin() + 8, s.begin() + 14),
            (std::vector<std::string>{"fd01::1", "fd00::2", "fd00::3", "fd00::1", "10.0.0.1", "10.0.0.2"}));
}

// 2.28: inventory names after the base list, no default-route address (its fact path never
// existed), kube_override_hostname before the hostnames.
TEST(SansOrder, LegacyDualStack) {
  auto p = run(kDualIni, "ipv6_stack: true\n", KubesprayVersion::V2_28, dual_facts());
  EXPECT_EQ(p->cluster().apiserver_sans,
            cat(kBase, {"cp1", "cp2", "cp3", "lb-apiserver.kubernetes.local", "192.168.0.1", "10.0.0.2", "10.0.0.3",
                        "10.0.0.1", "node-1", "node-2", "node-3", "node-1.example.com", "node-2.example.com",
                        "node-3.example.com"}));
}

}  // namespace
}  // namespace kha::planner::testing
