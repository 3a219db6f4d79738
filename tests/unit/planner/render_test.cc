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
  EXPECT_EQ(file(files, "hosts/cp1/etc/kha/kha.yaml"), nullptr);  // control planes bind "::": no LB
  const RenderedFile* cfg = file(files, "hosts/w1/etc/kha/kha.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_TRUE(cfg->kha_config);
  EXPECT_NE(cfg->content.find("listen: [\"127.0.0.1:6443\", \"[::1]:6443\"]"), std::string::npos) << cfg->content;
  EXPECT_NE(cfg->content.find("kind: https\n      path: /readyz"), std::string::npos);
  for (const char* b : {"192.168.0.1:6443", "10.0.0.2:6443", "10.0.0.3:6443"})
    EXPECT_NE(cfg->content.find(std::string("address: \"") + b + "\""), std::string::npos) << b;
  const RenderedFile* pod = file(files, "hosts/w1/etc/kubernetes/manifests/kha-proxy.yml");
  ASSERT_NE(pod, nullptr);
  EXPECT_NE(pod->content.find("hostNetwork: true"), std::string::npos);
  EXPECT_NE(pod->content.find("priorityClassName: system-node-critical"), std::string::npos);
  EXPECT_EQ(file(files, "external-lb/haproxy.cfg"), nullptr);
}

// The hardened pod of deploy/kha-proxy.static-pod.yaml, with the admin port from
// loadbalancer_apiserver_healthcheck_port; no checksum annotation (a config change is a reload).
TEST(Render, HardenedStaticPod) {
  auto p = run(kBaseIni, "loadbalancer_apiserver_healthcheck_port: 8090\n");
  const auto files = render(p->plan());
  const RenderedFile* pod = file(files, "hosts/w1/etc/kubernetes/manifests/kha-proxy.yml");
  ASSERT_NE(pod, nullptr);
  for (const char* want : {"command: [\"/usr/bin/kha\", \"proxy\", \"--config\", \"/etc/kha/kha.yaml\", \"--bind-retry\", \"10m\"]",
                           "terminationGracePeriodSeconds: 45\n", "runAsNonRoot: true\n", "type: Directory\n",
                           "path: /healthz\n          port: 8090\n", "path: /readyz\n          port: 8090\n",
                           "image: kha:" KHA_VERSION "\n"})
    EXPECT_NE(pod->content.find(want), std::string::npos) << want << "\n" << pod->content;
  EXPECT_EQ(pod->content.find("checksum"), std::string::npos);
  const RenderedFile* cfg = file(files, "hosts/w1/etc/kha/kha.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_NE(cfg->content.find("admin:\n  listen: \"127.0.0.1:8090\"\n"), std::string::npos) << cfg->content;
  EXPECT_EQ(cfg->content.find("2.31"), std::string::npos) << "the role cannot know the Kubespray version";
  // The same pod on every node: only the config names the host.
  EXPECT_EQ(pod->content, file(files, "hosts/w2/etc/kubernetes/manifests/kha-proxy.yml")->content);
}

// loadbalancer_apiserver_type kha: the hosts nginx would have, no warning, files rendered.
TEST(Render, TypeKhaLikeNginx) {
  auto nginx = run(kBaseIni, "kube_apiserver_bind_address: 10.9.9.9\n");
  auto k = run(kBaseIni, "kube_apiserver_bind_address: 10.9.9.9\nloadbalancer_apiserver_type: kha\n");
  EXPECT_EQ(k->cluster().localhost_lb.installed_on, nginx->cluster().localhost_lb.installed_on);
  EXPECT_EQ(k->cluster().localhost_lb.installed_on, (std::vector<std::string>{"cp1", "cp2", "cp3", "w1", "w2"}));
  EXPECT_EQ(k->cluster().localhost_lb.type, "kha");
  EXPECT_FALSE(k->has_finding("lb-type-unknown"));
  const auto files = render(k->plan());
  for (const char* h : {"cp1", "cp2", "cp3", "w1", "w2"})
    EXPECT_NE(file(files, std::string("hosts/") + h + "/etc/kha/kha.yaml"), nullptr) << h;
  EXPECT_EQ(render(k->plan()).size(), render(nginx->plan()).size());
}

// A control plane whose apiserver holds 0.0.0.0:6443 leaves no 127.0.0.1:6443 for a LB:
// Kubespray installs nginx there anyway; kha renders nothing for those hosts only.
TEST(Render, ApiserverOnAllInterfacesSkipsControlPlanes) {
  auto p = run(kBaseIni, "kube_apiserver_bind_address: 0.0.0.0\nloadbalancer_apiserver_type: kha\n");
  EXPECT_EQ(p->cluster().localhost_lb.port_taken_on, (std::vector<std::string>{"cp1", "cp2", "cp3"}));
  const auto files = render(p->plan());
  EXPECT_EQ(file(files, "hosts/cp1/etc/kha/kha.yaml"), nullptr);
  EXPECT_NE(file(files, "hosts/w1/etc/kha/kha.yaml"), nullptr);
  // Another LB port is free on the control planes too.
  auto other = run(kBaseIni, "kube_apiserver_bind_address: 0.0.0.0\nloadbalancer_apiserver_port: 7443\n");
  EXPECT_TRUE(other->cluster().localhost_lb.port_taken_on.empty());
  EXPECT_NE(file(render(other->plan()), "hosts/cp1/etc/kha/kha.yaml"), nullptr);
}

// The manifest goes where the kubelet reads static pods: kube_manifest_dir.
TEST(Render, ManifestInKubeManifestDir) {
  auto p = run(kBaseIni, "kube_config_dir: /srv/k8s\n");
  EXPECT_NE(file(render(p->plan()), "hosts/w1/srv/k8s/manifests/kha-proxy.yml"), nullptr);
  auto q = run(kBaseIni, "kube_manifest_dir: /var/lib/static-pods/\n");
  EXPECT_NE(file(render(q->plan()), "hosts/w1/var/lib/static-pods/kha-proxy.yml"), nullptr);
}

TEST(Render, ExternalLbAndLegacyHosts) {
  auto p = run(kBaseIni, "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n", KubesprayVersion::V2_28);
  const auto files = render(p->plan());
  const RenderedFile* cfg = file(files, "external-lb/etc/kha/kha.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_NE(cfg->content.find("listen: [\"0.0.0.0:8383\"]"), std::string::npos) << cfg->content;
  const RenderedFile* hap = file(files, "external-lb/haproxy.cfg");
  ASSERT_NE(hap, nullptr);
  EXPECT_NE(hap->content.find("  bind :8383\n"), std::string::npos);
  EXPECT_NE(hap->content.find("  server cp2 10.0.0.2:6443 check check-ssl verify none inter 10000\n"), std::string::npos);
  const RenderedFile* hosts = file(files, "hosts/w1/etc/hosts.kha");
  ASSERT_NE(hosts, nullptr);
  EXPECT_NE(hosts->content.find("10.0.0.100 lb-apiserver.kubernetes.local\n"), std::string::npos);
  EXPECT_EQ(file(files, "hosts/w1/etc/kha/kha.yaml"), nullptr);
}

TEST(Render, EtcdBehindVip) {
  auto p = run(kBaseIni, "etcd_access_addresses: https://2.3.7.9:2379\netcd_cert_alt_ips: ['2.3.7.9']\n");
  const auto files = render(p->plan());
  const RenderedFile* cfg = file(files, "etcd-lb/etc/kha/kha.yaml");
  ASSERT_NE(cfg, nullptr);
  EXPECT_NE(cfg->content.find("listen: [\"0.0.0.0:2379\"]"), std::string::npos) << cfg->content;
  EXPECT_NE(cfg->content.find("address: \"10.0.0.2:2379\""), std::string::npos);
  EXPECT_NE(cfg->content.find("kind: tls"), std::string::npos);
}

}  // namespace
}  // namespace kha::planner::testing
