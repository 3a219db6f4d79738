// One case per rule of the spec (sections 1-5), exact values.
#include "plan_fixture.h"

namespace kha::planner::testing {
namespace {

constexpr auto V28 = KubesprayVersion::V2_28;

const char* kSmallIni = R"([kube_control_plane]
cp1
[etcd]
cp1
[kube_node]
w1
)";

// 1.1: ip, else the default-route fact, else 127.0.0.1 (marked assumed); access_ip defers to ip.
TEST(Addresses, FallbacksAndAssumedFacts) {
  std::map<std::string, Facts> facts;
  facts["cp1"] = Facts{"10.9.0.1", std::nullopt, "cp1", "cp1.example.com", "facts/cp1"};
  auto p = run(kSmallIni, "", KubesprayVersion::V2_31, facts);
  EXPECT_EQ(p->host("cp1").main_ip, "10.9.0.1");
  EXPECT_TRUE(p->host("cp1").assumed.empty());
  EXPECT_EQ(p->host("w1").main_ip, "127.0.0.1");
  EXPECT_EQ(p->host("w1").main_access_ip, "127.0.0.1");
  EXPECT_TRUE(p->host("w1").assumed.count("main_ip"));
  EXPECT_TRUE(p->has_finding("assumed-fact"));
}

TEST(Addresses, AccessIpAndFactFromInventory) {
  auto p = run("[kube_control_plane]\ncp1 access_ip=192.168.1.1\n[etcd]\ncp1\n",
               "ansible_default_ipv4: {address: 10.1.1.1}\n");
  EXPECT_EQ(p->host("cp1").main_ip, "10.1.1.1");
  EXPECT_EQ(p->host("cp1").main_access_ip, "192.168.1.1");
  EXPECT_EQ(p->cluster().first_kube_control_plane_address, "192.168.1.1");
  EXPECT_EQ(p->cluster().kubeadm_control_plane_endpoint, "10.1.1.1:6443");
}

// 1.1 + 2.2: IPv6-only clusters use ip6; URLs are bracketed; the LB also listens on [::1].
TEST(Ipv6, SingleStack) {
  auto p = run("[kube_control_plane]\ncp1 ip6=fd00::1\ncp2 ip6=fd00::2\ncp3 ip6=fd00::3\n[etcd:children]\n"
               "kube_control_plane\n[kube_node]\nw1 ip6=fd00::11\n",
               "ipv4_stack: false\nipv6_stack: true\n");
  EXPECT_EQ(p->host("cp1").main_ip, "fd00::1");
  EXPECT_EQ(opt(p->host("cp1").kube_apiserver_endpoint), "https://127.0.0.1:6443");
  EXPECT_EQ(p->cluster().kubeadm_control_plane_endpoint, "[fd00::1]:6443");
  EXPECT_EQ(p->cluster().localhost_lb.listen, (std::vector<std::string>{"127.0.0.1:6443", "[::1]:6443"}));
  EXPECT_EQ(p->cluster().localhost_lb.upstreams,
            (std::vector<std::string>{"[fd00::1]:6443", "[fd00::2]:6443", "[fd00::3]:6443"}));
  EXPECT_EQ(opt(p->host("w1").kubeadm_join_discovery_endpoint), "[fd00::1]:6443");
  EXPECT_EQ(p->host("cp1").etcd_member->client_url, "https://[fd00::1]:2379");
  EXPECT_EQ(p->host("cp1").etcd_member->listen_client_urls,
            (std::vector<std::string>{"https://[fd00::1]:2379", "https://127.0.0.1:2379"}));
  EXPECT_EQ(p->cluster().apiserver_sans[4], "fd85:ee78:d8a6:8607::1001");  // kube_apiserver_ip, IPv6 service subnet
}

// 2.1: every "::" in the bind address becomes 127.0.0.1, mangling IPv6 bind addresses.
TEST(BindAddress, Ipv6Mangled) {
  auto p = run("[kube_control_plane]\ncp1 ip=10.0.0.1\n[etcd]\ncp1\n", "kube_apiserver_bind_address: 'fd00:10::12'\n");
  EXPECT_EQ(opt(p->host("cp1").kube_apiserver_endpoint), "https://fd00:10127.0.0.112:6443");
  EXPECT_TRUE(p->has_finding("bind-ipv6-mangled"));
}

// 2.2: an IPv6 LB address without a name: endpoints bracketed, controlPlaneEndpoint not.
TEST(Ipv6, ExternalLbWithoutName) {
  auto p = run(kBaseIni, "loadbalancer_apiserver: {address: 'fd00:10::100', port: 8383}\n");
  EXPECT_EQ(p->cluster().kube_apiserver_global_endpoint, "https://[fd00:10::100]:8383");
  EXPECT_EQ(p->cluster().kubeadm_control_plane_endpoint, "fd00:10::100:8383");
  EXPECT_EQ(opt(p->host("cp2").kubeadm_join_discovery_endpoint), "fd00:10::100:8383");
  EXPECT_EQ(opt(p->host("w1").kubeadm_join_discovery_endpoint), "[fd00:10::100]:8383");
  EXPECT_EQ(p->cluster().admin_kubeconfig_artifact_server, "https://[fd00:10::100]:8383");
  EXPECT_TRUE(p->has_finding("lb-ipv6-no-domain"));
}

// 2.3: the artifact admin.conf uses the LB address (never its name), its port only with both set.
TEST(Artifact, PortOnlyWithAddress) {
  auto named = run(kBaseIni, "apiserver_loadbalancer_domain_name: lb.example.com\nloadbalancer_apiserver: {port: 8383}\n");
  EXPECT_EQ(named->cluster().admin_kubeconfig_artifact_server, "https://192.168.0.1:6443");
  auto host = run(kBaseIni, "kubeconfig_localhost_ansible_host: true\n", KubesprayVersion::V2_31);
  EXPECT_EQ(host->cluster().admin_kubeconfig_artifact_server, "https://cp1:6443");  // no ansible_host: the name
}

// 3: haproxy type, healthz endpoint, unknown type installs nothing.
TEST(LocalhostLb, HaproxyAndHealthz) {
  auto p = run(kBaseIni, "loadbalancer_apiserver_type: haproxy\nloadbalancer_apiserver_healthcheck_port: 8081\n");
  EXPECT_EQ(p->cluster().localhost_lb.type, "haproxy");
  EXPECT_EQ(p->cluster().localhost_lb.balance, "leastconn");
  EXPECT_EQ(opt(p->cluster().localhost_lb.healthz_endpoint), "http://0.0.0.0:8081/healthz");
  EXPECT_EQ(p->cluster().localhost_lb.upstreams,
            (std::vector<std::string>{"192.168.0.1:6443", "10.0.0.2:6443", "10.0.0.3:6443"}));
  auto n = run(kBaseIni);
  EXPECT_EQ(n->cluster().localhost_lb.balance, "least_conn");
  EXPECT_EQ(opt(n->cluster().localhost_lb.healthz_endpoint), "(null)");
  auto bad = run(kBaseIni, "loadbalancer_apiserver_type: envoy\n");
  EXPECT_TRUE(bad->cluster().localhost_lb.installed_on.empty());
  EXPECT_EQ(opt(bad->host("w1").kube_apiserver_endpoint), "https://localhost:6443");
}

// 4: /etc/hosts: nothing in 2.31; the inventory block and the LB line in 2.28.
TEST(EtcHosts, ByMode) {
  const std::string vars = "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n";
  auto cur = run(kSmallIni, "ip: 10.0.0.5\n" + vars);
  EXPECT_TRUE(cur->host("cp1").etc_hosts.empty());
  std::map<std::string, Facts> facts;
  facts["cp1"] = Facts{"10.0.0.1", std::nullopt, "master-a", "master-a.example.com", "f"};
  facts["w1"] = Facts{"10.0.0.2", std::nullopt, "worker-a", "worker-a.example.com", "f"};
  auto old = run(kSmallIni, vars, V28, facts);
  EXPECT_EQ(old->host("w1").etc_hosts,
            (std::vector<std::string>{"# Ansible inventory hosts BEGIN", "10.0.0.1 master-a.cluster.local master-a",
                                      "10.0.0.2 worker-a.cluster.local worker-a", "# Ansible inventory hosts END",
                                      "10.0.0.100 lb-apiserver.kubernetes.local"}));
  EXPECT_TRUE(old->host("w1").assumed.empty());
}

// 5: apiserver_sans in Kubespray's order (2.31) and the 2.28 list with inventory names.
TEST(Sans, CurrentOrder) {
  std::map<std::string, Facts> facts;
  facts["cp1"] = Facts{"10.0.0.1", "fd00::1", "node-a", "node-a.example.com", "f"};
  auto p = run("[kube_control_plane]\ncp1 ip=10.0.0.1 access_ip=192.168.0.1\n[etcd]\ncp1\n",
               "supplementary_addresses_in_ssl_keys: [api.example.com]\nkube_vip_address: 10.0.0.50\n",
               KubesprayVersion::V2_31, facts);
  EXPECT_EQ(p->cluster().apiserver_sans,
            (std::vector<std::string>{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                      "kubernetes.default.svc.cluster.local", "10.233.0.1", "localhost", "127.0.0.1",
                                      "::1", "api.example.com", "192.168.0.1", "10.0.0.1", "fd00::1", "node-a",
                                      "node-a.example.com", "cp1", "10.0.0.50"}));
  const SanSet& cert = *p->host("cp1").apiserver_cert_sans;
  EXPECT_EQ(cert.dns, (std::vector<std::string>{"cp1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                                "kubernetes.default.svc.cluster.local", "localhost", "api.example.com",
                                                "node-a", "node-a.example.com"}));
  EXPECT_EQ(cert.ip, (std::vector<std::string>{"10.233.0.1", "10.0.0.1", "127.0.0.1", "::1", "192.168.0.1", "fd00::1",
                                               "10.0.0.50"}));
}

TEST(Sans, Legacy) {
  auto p = run(kBaseIni, "", V28);
  const auto& s = p->cluster().apiserver_sans;
  ASSERT_GE(s.size(), 12u);
  EXPECT_EQ(std::vector<std::string>(s.begin() + 8, s.begin() + 12),
            (std::vector<std::string>{"cp1", "cp2", "cp3", "lb-apiserver.kubernetes.local"}));
}

// 1.3 and 5: etcd access, member URLs, certificates, initial cluster.
TEST(Etcd, Defaults) {
  auto p = run(kBaseIni, "");
  const EtcdPlan& e = p->cluster().etcd;
  EXPECT_EQ(e.access_addresses,
            (std::vector<std::string>{"https://192.168.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"}));
  EXPECT_EQ(e.apiserver_etcd_servers, "https://192.168.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379");
  EXPECT_EQ(e.initial_cluster, "etcd1=https://192.168.0.1:2380,etcd2=https://10.0.0.2:2380,etcd3=https://10.0.0.3:2380");
  EXPECT_EQ(e.cert_alt_names, (std::vector<std::string>{"etcd.kube-system.svc.cluster.local", "etcd.kube-system.svc",
                                                        "etcd.kube-system", "etcd"}));
  EXPECT_EQ(e.member_cert_sans.dns[0], "localhost");
  EXPECT_EQ(e.member_cert_sans.dns[1], "cp1");
  EXPECT_EQ(std::vector<std::string>(e.member_cert_sans.ip.begin(), e.member_cert_sans.ip.begin() + 2),
            (std::vector<std::string>{"192.168.0.1", "10.0.0.1"}));
  EXPECT_EQ(e.member_cert_sans.ip.back(), "::1");
  const EtcdMember& m = *p->host("cp1").etcd_member;
  EXPECT_EQ(m.client_url, "https://192.168.0.1:2379");
  EXPECT_EQ(m.peer_url, "https://192.168.0.1:2380");
  EXPECT_EQ(m.listen_client_urls, (std::vector<std::string>{"https://10.0.0.1:2379", "https://127.0.0.1:2379"}));
  EXPECT_EQ(m.listen_peer_urls, (std::vector<std::string>{"https://10.0.0.1:2380"}));
  EXPECT_FALSE(p->host("w1").etcd_member.has_value());
  EXPECT_FALSE(p->cluster().etcd_behind_vip);
}

TEST(Etcd, VipAndKubeadm) {
  auto p = run(kBaseIni, "etcd_access_addresses: https://2.3.7.9:2379\netcd_client_url: https://2.3.7.9:2379\n"
                         "etcd_cert_alt_ips: ['2.3.7.9']\n");
  EXPECT_EQ(p->cluster().etcd.access_addresses, std::vector<std::string>{"https://2.3.7.9:2379"});
  EXPECT_EQ(p->host("cp2").etcd_member->client_url, "https://2.3.7.9:2379");
  EXPECT_EQ(p->host("cp2").etcd_member->peer_url, "https://10.0.0.2:2380");
  EXPECT_TRUE(p->cluster().etcd_behind_vip);
  EXPECT_TRUE(p->has_finding("etcd-client-url-shared"));
  EXPECT_FALSE(p->has_finding("etcd-vip-not-in-cert"));
  auto own = run(kBaseIni, "etcd_client_url: \"https://{{ etcd_access_address }}:2379\"\n");
  EXPECT_EQ(own->host("cp3").etcd_member->client_url, "https://10.0.0.3:2379");
  EXPECT_FALSE(own->has_finding("etcd-client-url-shared"));
  auto k = run(kBaseIni, "etcd_deployment_type: kubeadm\n");
  EXPECT_EQ(k->cluster().etcd.apiserver_etcd_servers, "https://127.0.0.1:2379");
  auto named = run(kBaseIni, "etcd_member_name: \"{{ inventory_hostname }}-etcd\"\n");
  EXPECT_EQ(named->cluster().etcd.initial_cluster.substr(0, 33), "cp1-etcd=https://192.168.0.1:2380");
}

}  // namespace
}  // namespace kha::planner::testing
