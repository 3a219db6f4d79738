// render(): which files a plan produces and what they hold.
#include "plan_fixture.h"
#include "planner/render.h"

namespace kha::planner::testing {
namespace {

const RenderedFile* file(const std::vector<RenderedFile>& files, const std::string& path) {
  for (const auto& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

TEST(Render, LocalLbPerWorker) {
  auto p = run(kBaseIni, "enable_dual_stack_networks: true\n");
  const auto files = render(p->plan());
  EXPECT_EQ(file(files, "hosts/cp1/etc/kha/proxy.yaml"), nullptr);  // control planes bind "::": no LB
  const RenderedFile* cfg = file(files, "hosts/w1/etc/kha/proxy.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_TRUE(cfg->kha_config);
  EXPECT_NE(cfg->content.find("listen: [\"127.0.0.1:6443\", \"[::1]:6443\"]"), std::string::npos) << cfg->content;
  EXPECT_NE(cfg->content.find("kind: https\n      path: /readyz"), std::string::npos);
  for (const char* b : {"192.168.0.1:6443", "10.0.0.2:6443", "10.0.0.3:6443"})
    EXPECT_NE(cfg->content.find(std::string("address: \"") + b + "\""), std::string::npos) << b;
  const RenderedFile* pod = file(files, "hosts/w1/etc/kubernetes/manifests/kha-proxy.yaml");
  ASSERT_NE(pod, nullptr);
  EXPECT_NE(pod->content.find("hostNetwork: true"), std::string::npos);
  EXPECT_NE(pod->content.find("priorityClassName: system-node-critical"), std::string::npos);
  EXPECT_EQ(file(files, "external-lb/haproxy.cfg"), nullptr);
}

TEST(Render, ExternalLbAndLegacyHosts) {
  auto p = run(kBaseIni, "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n", KubesprayVersion::V2_28);
  const auto files = render(p->plan());
  const RenderedFile* cfg = file(files, "external-lb/etc/kha/proxy.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_NE(cfg->content.find("listen: [\"0.0.0.0:8383\"]"), std::string::npos) << cfg->content;
  const RenderedFile* hap = file(files, "external-lb/haproxy.cfg");
  ASSERT_NE(hap, nullptr);
  EXPECT_NE(hap->content.find("  bind :8383\n"), std::string::npos);
  EXPECT_NE(hap->content.find("  server cp2 10.0.0.2:6443 check check-ssl verify none inter 10000\n"), std::string::npos);
  const RenderedFile* hosts = file(files, "hosts/w1/etc/hosts.kha");
  ASSERT_NE(hosts, nullptr);
  EXPECT_NE(hosts->content.find("10.0.0.100 lb-apiserver.kubernetes.local\n"), std::string::npos);
  EXPECT_EQ(file(files, "hosts/w1/etc/kha/proxy.yaml"), nullptr);
}

TEST(Render, EtcdBehindVip) {
  auto p = run(kBaseIni, "etcd_access_addresses: https://2.3.7.9:2379\netcd_cert_alt_ips: ['2.3.7.9']\n");
  const auto files = render(p->plan());
  const RenderedFile* cfg = file(files, "etcd-lb/etc/kha/proxy.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_NE(cfg->content.find("listen: [\"0.0.0.0:2379\"]"), std::string::npos) << cfg->content;
  EXPECT_NE(cfg->content.find("address: \"10.0.0.2:2379\""), std::string::npos);
  EXPECT_NE(cfg->content.find("kind: tls"), std::string::npos);
}

}  // namespace
}  // namespace kha::planner::testing
