// Findings: every quirk of the spec as a warning naming the variable; settings Kubespray rejects
// as errors; input that cannot be evaluated as diagnostics with file and line.
#include "plan_fixture.h"

namespace kha::planner::testing {
namespace {

const Finding* find(const Plan& plan, const std::string& code) {
  for (const auto& f : plan.findings)
    if (f.code == code) return &f;
  return nullptr;
}

struct Case {
  std::string code, vars, field, severity;
};

class QuirkFinding : public ::testing::TestWithParam<Case> {};

TEST_P(QuirkFinding, NamesTheVariable) {
  const Case& c = GetParam();
  auto p = run(kBaseIni, c.vars);
  ASSERT_TRUE(p->result.ok());
  const Finding* f = find(p->plan(), c.code);
  ASSERT_NE(f, nullptr) << c.code;
  EXPECT_EQ(f->field, c.field);
  EXPECT_EQ(f->severity, c.severity);
  EXPECT_NE(f->message.find(c.field.substr(0, c.field.find('.'))), std::string::npos) << f->message;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, QuirkFinding,
    ::testing::Values(
        Case{"kube-proxy-port", "loadbalancer_apiserver_port: 8443\n", "loadbalancer_apiserver_port", "warning"},
        Case{"bind-join-self", "kube_apiserver_bind_address: 10.0.0.1\n", "kube_apiserver_bind_address", "warning"},
        Case{"kube-proxy-first-cp", "kube_apiserver_bind_address: 10.0.0.1\n", "kube_apiserver_bind_address", "warning"},
        Case{"bind-all-ipv4", "kube_apiserver_bind_address: 0.0.0.0\n", "kube_apiserver_bind_address", "warning"},
        Case{"bind-ipv6-mangled", "kube_apiserver_bind_address: 'fd00::5'\n", "kube_apiserver_bind_address", "warning"},
        Case{"lb-and-localhost", "loadbalancer_apiserver: {address: 10.0.0.100}\nloadbalancer_apiserver_localhost: true\n",
             "loadbalancer_apiserver_localhost", "warning"},
        Case{"lb-ipv6-no-domain", "loadbalancer_apiserver: {address: 'fd00::100', port: 8383}\n",
             "apiserver_loadbalancer_domain_name", "warning"},
        Case{"lb-port-conflict", "loadbalancer_apiserver: {address: 10.0.0.100, port: 6443}\n",
             "loadbalancer_apiserver.port", "warning"},
        Case{"lb-type-unknown", "loadbalancer_apiserver_type: traefik\n", "loadbalancer_apiserver_type", "warning"},
        Case{"insecure-port-obsolete", "kube_apiserver_insecure_port: 8080\n", "kube_apiserver_insecure_port", "warning"},
        Case{"no-ha-endpoint", "loadbalancer_apiserver_localhost: false\n", "loadbalancer_apiserver_localhost", "warning"},
        Case{"lb-name-needs-dns", "loadbalancer_apiserver: {address: 10.0.0.100}\napiserver_loadbalancer_domain_name: lb.x\n",
             "apiserver_loadbalancer_domain_name", "warning"},
        Case{"healthz-all-interfaces", "loadbalancer_apiserver_healthcheck_port: 8081\n",
             "loadbalancer_apiserver_healthcheck_port", "warning"},
        Case{"etcd-vip-not-in-cert", "etcd_access_addresses: https://etcd.example.com:2379\n", "etcd_cert_alt_names", "warning"},
        Case{"etcd-alt-names-replaced", "etcd_cert_alt_names: [etcd.example.com]\n", "etcd_cert_alt_names", "warning"},
        Case{"etcd-client-url-shared", "etcd_client_url: https://2.3.7.9:2379\n", "etcd_client_url", "warning"},
        Case{"lb-no-address", "loadbalancer_apiserver: {port: 8383}\n", "loadbalancer_apiserver", "error"},
        Case{"etcd-deployment-type", "etcd_deployment_type: podman\n", "etcd_deployment_type", "error"}),
    [](const auto& param_info) {
      std::string n = param_info.param.code;
      for (auto& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

TEST(Findings, DefaultClusterHasNoneButAssumedFacts) {
  auto p = run(kBaseIni);
  for (const auto& f : p->plan().findings) EXPECT_EQ(f.code, "assumed-fact") << f.message;
  std::map<std::string, Facts> facts;
  for (const char* h : {"cp1", "cp2", "cp3", "w1", "w2"}) facts[h] = Facts{"10.0.0.99", std::nullopt, h, h, "f"};
  auto with_facts = run(kBaseIni, "", KubesprayVersion::V2_31, facts);
  EXPECT_TRUE(with_facts->plan().findings.empty());
}

TEST(Findings, KubeProxyPortOnlyWhenPortsDiffer) {
  auto p = run(kBaseIni, "loadbalancer_apiserver_port: 6443\n");
  EXPECT_FALSE(p->has_finding("kube-proxy-port"));
}

TEST(Rejected, NoControlPlane) {
  auto p = run("[kube_node]\nw1 ip=10.0.0.1\n[etcd]\nw1\n");
  ASSERT_TRUE(p->result.ok());
  EXPECT_TRUE(p->plan().has_errors());
  EXPECT_EQ(p->severity("no-control-plane"), "error");
  EXPECT_TRUE(p->plan().hosts.empty());
}

TEST(Rejected, EvenEtcdAndIgnoreAssertErrors) {
  const std::string ini = "[kube_control_plane]\ncp1 ip=10.0.0.1\n[etcd]\ncp1\ne2 ip=10.0.0.2\n";
  auto p = run(ini);
  EXPECT_EQ(p->severity("etcd-even"), "error");
  EXPECT_TRUE(p->plan().has_errors());
  auto ignored = run(ini, "ignore_assert_errors: true\n");
  EXPECT_EQ(ignored->severity("etcd-even"), "warning");
  EXPECT_FALSE(ignored->plan().has_errors());
}

TEST(Rejected, EmptyEtcdUnlessKubeadm) {
  auto p = run("[kube_control_plane]\ncp1 ip=10.0.0.1\n");
  EXPECT_EQ(p->severity("etcd-empty"), "error");
  auto k = run("[kube_control_plane]\ncp1 ip=10.0.0.1\n", "etcd_deployment_type: kubeadm\n");
  EXPECT_FALSE(k->has_finding("etcd-empty"));
  EXPECT_EQ(k->host("cp1").etcd_member->client_url, "https://10.0.0.1:2379");  // stacked on the control plane
}

TEST(Rejected, HostnameNotDns1123) {
  auto p = run("[kube_control_plane]\nCP_1 ip=10.0.0.1\n[etcd]\nCP_1\n");
  EXPECT_EQ(p->severity("hostname-invalid"), "error");
}

// Input that cannot be evaluated: diagnostics naming file, line and variable.
Diagnostics plan_errors(const std::string& ini, const std::string& vars) {
  Inventory inv = make_inventory(ini, vars);
  PlanInput in;
  in.inventory = &inv;
  auto r = plan(in);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Diagnostics{} : r.errors();
}

TEST(InputErrors, InvalidIp) {
  auto e = plan_errors("[kube_control_plane]\ncp1 ip=10.0.0.300\n[etcd]\ncp1\n", "");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].to_string(), "inventory.ini:2: ip: expected an IPv4 address, got '10.0.0.300'");
}

TEST(InputErrors, UndefinedVariable) {
  auto e = plan_errors(kBaseIni, "kube_apiserver_port: \"{{ my_port }}\"\n");
  ASSERT_GE(e.size(), 1u);
  EXPECT_EQ(e[0].to_string(),
            "group_vars/all.yml:1: kube_apiserver_port: undefined variable 'my_port' in '{{ my_port }}'");
}

TEST(InputErrors, UnsupportedExpression) {
  auto e = plan_errors(kBaseIni, "\n\nkube_apiserver_port: \"{{ ports | first }}\"\n");
  ASSERT_GE(e.size(), 1u);
  EXPECT_EQ(e[0].file, "group_vars/all.yml");
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[0].key, "kube_apiserver_port");
  EXPECT_NE(e[0].message.find("unsupported template expression '{{ ports | first }}'"), std::string::npos) << e[0].message;
  EXPECT_NE(e[0].message.find("filter 'first'"), std::string::npos);
}

TEST(InputErrors, BadPort) {
  auto e = plan_errors(kBaseIni, "loadbalancer_apiserver_port: 70000\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].to_string(), "group_vars/all.yml:1: loadbalancer_apiserver_port: expected a port number from 1 to 65535, got 70000");
}

TEST(InputErrors, LbAddressNotAnIp) {
  auto e = plan_errors(kBaseIni, "loadbalancer_apiserver:\n  address: not-an-ip\n");
  ASSERT_GE(e.size(), 1u);
  EXPECT_EQ(e[0].line, 1);
  EXPECT_EQ(e[0].key, "loadbalancer_apiserver");
}

}  // namespace
}  // namespace kha::planner::testing
