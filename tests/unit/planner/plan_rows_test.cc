// One case per row of the document's table (seed ha-mode.md) and of the spec's decision table
// (2.4), in both --kubespray modes, asserting the exact endpoint of each kind of node.
#include "plan_fixture.h"

namespace kha::planner::testing {
namespace {

struct Row {
  std::string name;
  KubesprayVersion version;
  std::string ini_extra;  // appended host vars (per-CP bind addresses)
  std::string vars;       // group_vars/all
  std::string cp_endpoint, cp2_endpoint, worker_endpoint, worker_kubelet, kube_proxy, global;
  std::vector<std::string> lb_on;
};

constexpr auto V31 = KubesprayVersion::V2_31;
constexpr auto V28 = KubesprayVersion::V2_28;
const char* kExt = "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n";
const char* kExtName = "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n"
                       "apiserver_loadbalancer_domain_name: lb.example.com\n";

std::vector<Row> rows() {
  const std::vector<std::string> workers{"w1", "w2"}, all{"cp1", "cp2", "cp3", "w1", "w2"}, none{};
  std::vector<Row> out;
  for (auto v : {V31, V28}) {
    // Doc row "Local LB (default)".
    out.push_back({"local_lb_default", v, "", "", "https://127.0.0.1:6443", "https://127.0.0.1:6443",
                   "https://localhost:6443", "https://localhost:6443", "https://127.0.0.1:6443",
                   "https://localhost:6443", workers});
    // Doc row "Local LB (default) + cbip": a custom IPv4 bind address per control plane.
    out.push_back({"local_lb_cbip", v, "cbip", "", "https://10.0.0.1:6443", "https://10.0.0.2:6443",
                   "https://localhost:6443", "https://localhost:6443", "https://10.0.0.1:6443",
                   "https://localhost:6443", all});
    // Spec row "Local LB + bind 0.0.0.0" (dbip of the document).
    out.push_back({"local_lb_bind_0000", v, "", "kube_apiserver_bind_address: 0.0.0.0\n", "https://0.0.0.0:6443",
                   "https://0.0.0.0:6443", "https://localhost:6443", "https://localhost:6443",
                   "https://10.0.0.1:6443", "https://localhost:6443", all});
    // Doc row "Local LB + Unmanaged here LB": extra SANs only, endpoints as the default.
    out.push_back({"local_lb_unmanaged_lb", v, "", "supplementary_addresses_in_ssl_keys: [ext.example.com, 203.0.113.10]\n",
                   "https://127.0.0.1:6443", "https://127.0.0.1:6443", "https://localhost:6443",
                   "https://localhost:6443", "https://127.0.0.1:6443", "https://localhost:6443", workers});
    // Doc row "External LB, no internal" with a domain name.
    const std::string lb = "https://lb.example.com:8383";
    out.push_back({"external_lb", v, "", std::string(kExtName) + "loadbalancer_apiserver_localhost: false\n", lb, lb,
                   lb, lb, lb, lb, none});
    // External LB by address only: 2.31 names it by its address, 2.28 by lb-apiserver.kubernetes.local.
    const std::string by_addr = v == V31 ? "https://10.0.0.100:8383" : "https://lb-apiserver.kubernetes.local:8383";
    out.push_back({"external_lb_address_only", v, "", kExt, by_addr, by_addr, by_addr, by_addr, by_addr, by_addr, none});
    // Doc row "No ext/int LB": workers' endpoint variable says m0.aip, their kubelet keeps m0.ip.
    out.push_back({"no_lb", v, "", "loadbalancer_apiserver_localhost: false\n", "https://127.0.0.1:6443",
                   "https://127.0.0.1:6443", "https://192.168.0.1:6443", "https://10.0.0.1:6443",
                   "https://10.0.0.1:6443", "https://192.168.0.1:6443", none});
    // Spec row "External LB + localhost: true + domain".
    out.push_back({"external_and_localhost_domain", v, "", std::string(kExtName) + "loadbalancer_apiserver_localhost: true\n",
                   lb, lb, lb, lb, lb, lb, workers});
    // Spec row "External LB + localhost: true, no domain": 2.31 points everything at localhost:lp.
    const std::string loc = v == V31 ? "https://localhost:8383" : "https://lb-apiserver.kubernetes.local:8383";
    out.push_back({"external_and_localhost_no_domain", v, "", std::string(kExt) + "loadbalancer_apiserver_localhost: true\n",
                   loc, loc, loc, loc, loc, loc, workers});
  }
  return out;
}

class TableRow : public ::testing::TestWithParam<Row> {};

TEST_P(TableRow, EndpointsPerKindOfNode) {
  const Row& r = GetParam();
  std::string ini = kBaseIni;
  if (r.ini_extra == "cbip") {
    ini = std::string(kBaseIni);
    ini.replace(ini.find("cp1 ip=10.0.0.1"), 15, "cp1 kube_apiserver_bind_address=10.0.0.1 ip=10.0.0.1");
    ini.replace(ini.find("cp2 ip=10.0.0.2"), 15, "cp2 kube_apiserver_bind_address=10.0.0.2 ip=10.0.0.2");
    ini.replace(ini.find("cp3 ip=10.0.0.3"), 15, "cp3 kube_apiserver_bind_address=10.0.0.3 ip=10.0.0.3");
  }
  auto p = run(ini, r.vars, r.version);
  ASSERT_TRUE(p->result.ok());
  EXPECT_EQ(opt(p->host("cp1").kube_apiserver_endpoint), r.cp_endpoint);
  EXPECT_EQ(opt(p->host("cp2").kube_apiserver_endpoint), r.cp2_endpoint);
  EXPECT_EQ(opt(p->host("w1").kube_apiserver_endpoint), r.worker_endpoint);
  EXPECT_EQ(opt(p->host("w1").kubelet_kubeconfig_server), r.worker_kubelet);
  EXPECT_EQ(p->cluster().kube_proxy_kubeconfig_server, r.kube_proxy);
  for (const char* h : {"cp1", "cp2", "w1", "w2"}) EXPECT_EQ(opt(p->host(h).kube_proxy_server), r.kube_proxy) << h;
  EXPECT_EQ(p->cluster().kube_apiserver_global_endpoint, r.global);
  EXPECT_EQ(p->cluster().localhost_lb.installed_on, r.lb_on);
  for (const auto& h : p->plan().hosts) {
    const bool on = std::find(r.lb_on.begin(), r.lb_on.end(), h.name) != r.lb_on.end();
    EXPECT_EQ(h.localhost_lb_installed, on) << h.name;
  }
  EXPECT_FALSE(p->plan().has_errors());
}

INSTANTIATE_TEST_SUITE_P(Rows, TableRow, ::testing::ValuesIn(rows()), [](const auto& param_info) {
  return param_info.param.name + (param_info.param.version == V31 ? "_2_31" : "_2_28");
});

// Control-plane components differ between the modes: 2.31 uses each CP's advertise address and
// the controlPlaneEndpoint; 2.28 rewrote them all to the CP's kube_apiserver_endpoint.
TEST(ControlPlaneComponents, Current) {
  auto p = run(kBaseIni);
  const auto& cp1 = p->host("cp1");
  const auto& cp2 = p->host("cp2");
  EXPECT_EQ(p->cluster().kubeadm_control_plane_endpoint, "10.0.0.1:6443");  // main_ip, not access_ip
  EXPECT_EQ(opt(cp1.kubelet_kubeconfig_server), "https://10.0.0.1:6443");
  EXPECT_EQ(opt(cp2.kubelet_kubeconfig_server), "https://10.0.0.2:6443");
  EXPECT_EQ(opt(cp2.controller_manager_server), "https://10.0.0.2:6443");
  EXPECT_EQ(opt(cp2.scheduler_server), "https://10.0.0.2:6443");
  EXPECT_EQ(opt(cp2.admin_conf_server), "https://10.0.0.1:6443");
  EXPECT_EQ(opt(cp1.kubeadm_join_discovery_endpoint), "(null)");
  EXPECT_EQ(opt(cp2.kubeadm_join_discovery_endpoint), "192.168.0.1:6443");
  EXPECT_EQ(opt(p->host("w1").kubeadm_join_discovery_endpoint), "192.168.0.1:6443");
  EXPECT_EQ(opt(p->host("w1").controller_manager_server), "(null)");
}

TEST(ControlPlaneComponents, Legacy) {
  auto p = run(kBaseIni, "", V28);
  for (const char* h : {"cp1", "cp2"}) {
    const auto& cp = p->host(h);
    EXPECT_EQ(opt(cp.kubelet_kubeconfig_server), "https://127.0.0.1:6443") << h;
    EXPECT_EQ(opt(cp.controller_manager_server), "https://127.0.0.1:6443") << h;
    EXPECT_EQ(opt(cp.scheduler_server), "https://127.0.0.1:6443") << h;
    EXPECT_EQ(opt(cp.admin_conf_server), "https://127.0.0.1:6443") << h;
  }
}

TEST(ControlPlaneComponents, ExternalLbJoin) {
  auto p = run(kBaseIni, std::string(kExtName) + "loadbalancer_apiserver_localhost: false\n");
  EXPECT_EQ(p->cluster().kubeadm_control_plane_endpoint, "lb.example.com:8383");
  EXPECT_EQ(opt(p->host("cp2").kubeadm_join_discovery_endpoint), "lb.example.com:8383");
  EXPECT_EQ(opt(p->host("cp1").admin_conf_server), "https://lb.example.com:8383");
  EXPECT_EQ(opt(p->host("cp1").kubelet_kubeconfig_server), "https://lb.example.com:8383");
  EXPECT_EQ(opt(p->host("cp2").kubelet_kubeconfig_server), "https://10.0.0.2:6443");
  EXPECT_EQ(p->cluster().admin_kubeconfig_artifact_server, "https://10.0.0.100:8383");
}

// nsp != sp: the 2.31 global endpoint follows nsp; 2.28 falls back to the first CP.
TEST(LocalLbPort, GlobalEndpointByMode) {
  const std::string vars = "loadbalancer_apiserver_port: 8443\n";
  auto cur = run(kBaseIni, vars);
  EXPECT_EQ(cur->cluster().kube_apiserver_global_endpoint, "https://localhost:8443");
  EXPECT_EQ(opt(cur->host("w1").kube_apiserver_endpoint), "https://localhost:8443");
  EXPECT_EQ(cur->cluster().localhost_lb.listen, std::vector<std::string>{"127.0.0.1:8443"});
  EXPECT_EQ(cur->cluster().kube_proxy_kubeconfig_server, "https://127.0.0.1:6443");  // sp, not nsp
  auto old = run(kBaseIni, vars, V28);
  EXPECT_EQ(old->cluster().kube_apiserver_global_endpoint, "https://192.168.0.1:6443");
}

}  // namespace
}  // namespace kha::planner::testing
