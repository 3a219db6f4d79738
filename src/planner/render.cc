// render(): a plan's kha configs, static pod manifests, HAProxy equivalent and /etc/hosts lines. Pure.
#include "planner/render.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "common/address.h"

namespace kha::planner {

namespace {

constexpr const char* kDefaultImage = "kha:" KHA_VERSION;  // the kha_proxy role's kha_image default

std::string header(const Plan& plan, const std::string& what) {
  return "# " + what + "\n# Rendered by `kha plan render` (Kubespray " +
         std::string(plan.version == KubesprayVersion::V2_28 ? "2.28" : "2.31") +
         " behaviour). Check it: kha check-config FILE\n";
}

struct FrontendSpec {
  std::string name;
  std::vector<std::string> listen;
  std::string balance;
  std::string health_kind;
  std::vector<std::pair<std::string, std::string>> backends;  // name, address
  std::vector<std::pair<std::string, std::string>> timeouts;  // key, duration
};

// kha's YAML through yaml-cpp's emitter (quoting is its job, not ours), laid out as the
// kha_proxy role's kha.yaml.j2 writes it: test_ansible_role compares the bytes.
std::string kha_config(const std::string& head, const std::string& admin, const FrontendSpec& f) {
  YAML::Emitter y;
  y.SetIndent(2);
  y << YAML::BeginMap;
  y << YAML::Key << "log_format" << YAML::Value << "text";
  y << YAML::Key << "admin" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "listen" << YAML::Value << YAML::DoubleQuoted << admin << YAML::EndMap;
  y << YAML::Key << "frontends" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << f.name;
  y << YAML::Key << "listen" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& l : f.listen) y << YAML::DoubleQuoted << l;
  y << YAML::EndSeq;
  y << YAML::Key << "balance" << YAML::Value << f.balance;
  if (!f.timeouts.empty()) {
    y << YAML::Key << "timeouts" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, value] : f.timeouts) y << YAML::Key << key << YAML::Value << value;
    y << YAML::EndMap;
  }
  y << YAML::Key << "health" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "kind" << YAML::Value << f.health_kind;
  if (f.health_kind == "https") {
    y << YAML::Key << "path" << YAML::Value << "/readyz";
    y << YAML::Key << "expect_status" << YAML::Value << 200;
  }
  y << YAML::Key << "tls" << YAML::Value << YAML::BeginMap << YAML::Key << "verify" << YAML::Value << false
    << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "backends" << YAML::Value << YAML::BeginSeq;
  for (const auto& [name, address] : f.backends)
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << name << YAML::Key
      << "address" << YAML::Value << YAML::DoubleQuoted << address << YAML::EndMap;
  y << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  return head + y.c_str() + "\n";
}

// The static pod of deploy/kha-proxy.static-pod.yaml: the same text for every node (a config
// change is a reload, not a new pod), so the file on disk only changes with the image or port.
std::string manifest(const std::string& image, int admin_port) {
  const std::string port = std::to_string(admin_port);
  return "# kha proxy as a Kubernetes static pod: the node-local load balancer for the API\n"
         "# server, in place of Kubespray's nginx-proxy / haproxy static pod. Its config is\n"
         "# /etc/kha/kha.yaml. Written by `kha plan render` and the kha_proxy Ansible role\n"
         "# (deploy/ansible) as <kube_manifest_dir>/kha-proxy.yml; see docs/kubespray.md.\n"
         "# A config change needs no new pod: POST /reload on the admin port (`kha reload`)\n"
         "# applies it without dropping sessions. An image change is a new manifest.\n"
         "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kha-proxy\n  namespace: kube-system\n  labels:\n"
         "    addonmanager.kubernetes.io/mode: Reconcile\n    k8s-app: kube-kha-proxy\nspec:\n  hostNetwork: true\n"
         "  dnsPolicy: ClusterFirstWithHostNet\n  nodeSelector:\n    kubernetes.io/os: linux\n"
         "  priorityClassName: system-node-critical\n"
         "  # Sessions drain for shutdown_grace (30s) on SIGTERM; leave margin.\n"
         "  terminationGracePeriodSeconds: 45\n"
         "  securityContext:\n    runAsNonRoot: true\n    runAsUser: 65532\n    runAsGroup: 65532\n"
         "    seccompProfile:\n      type: RuntimeDefault\n"
         "  containers:\n    - name: kha-proxy\n      image: " + image + "\n      imagePullPolicy: IfNotPresent\n"
         "      # --bind-retry: started beside the old nginx-proxy/haproxy, kha takes 127.0.0.1:6443 the\n"
         "      # moment that pod is gone (the kha_proxy role removes its manifest once kha is up).\n"
         "      command: [\"/usr/bin/kha\", \"proxy\", \"--config\", \"/etc/kha/kha.yaml\", \"--bind-retry\", \"10m\"]\n"
         "      resources:\n        # No larger than Kubespray's nginx proxy; no limits.\n"
         "        requests:\n          cpu: 25m\n          memory: 32M\n"
         "      securityContext:\n        allowPrivilegeEscalation: false\n        readOnlyRootFilesystem: true\n"
         "        capabilities:\n          drop: [\"ALL\"]\n"
         "      # The admin endpoint listens on 127.0.0.1 only; with hostNetwork the kubelet reaches it.\n"
         "      livenessProbe:\n        httpGet:\n          host: 127.0.0.1\n          path: /healthz\n          port: " + port + "\n"
         "      # /readyz is 200 only while every frontend has a healthy backend.\n"
         "      readinessProbe:\n        httpGet:\n          host: 127.0.0.1\n          path: /readyz\n          port: " + port + "\n"
         "      volumeMounts:\n        - name: etc-kha\n          mountPath: /etc/kha\n          readOnly: true\n"
         "  volumes:\n    - name: etc-kha\n      hostPath:\n        path: /etc/kha\n        type: Directory\n";
}

std::string wildcard(const std::optional<std::string>& address, int port) {
  return (address && is_ipv6_literal(*address) ? "[::]:" : "0.0.0.0:") + std::to_string(port);
}

}  // namespace

std::vector<RenderedFile> render(const Plan& plan) {
  std::vector<RenderedFile> out;
  const ClusterPlan& c = plan.cluster;
  std::vector<std::pair<std::string, std::string>> cps;
  for (std::size_t i = 0; i < c.control_plane_backends.size(); ++i)
    cps.emplace_back(c.control_plane_names[i], c.control_plane_backends[i]);
  // The admin endpoint (/healthz, /readyz) takes the place of Kubespray's healthz port, on loopback only.
  const int admin_port = c.healthcheck_port && c.healthcheck_port != c.lb_port ? c.healthcheck_port : (c.lb_port == 8081 ? 8082 : 8081);
  const std::string admin = "127.0.0.1:" + std::to_string(admin_port);
  for (const auto& h : plan.hosts) {
    const std::string dir = "hosts/" + h.name + "/";
    const bool port_taken = std::find(c.localhost_lb.port_taken_on.begin(), c.localhost_lb.port_taken_on.end(),
                                      h.name) != c.localhost_lb.port_taken_on.end();
    if (h.localhost_lb_installed && !port_taken) {
      FrontendSpec f{"apiserver", c.localhost_lb.listen, "leastconn", "https", cps,
                     {{"connect", "1s"}, {"client_idle", "3h"}, {"server_idle", "3h"}}};
      // No Kubespray version in the header: the kha_proxy role writes the same bytes.
      const std::string head =
          "# kha proxy: node-local apiserver LB of " + h.name + " (listens where Kubespray's nginx-proxy would).\n"
          "# Written by `kha plan render` and the kha_proxy Ansible role. Check it: kha check-config FILE\n"
          "# Apply a change without dropping sessions: kha reload --admin " + admin + "\n";
      out.push_back({dir + "etc/kha/kha.yaml", kha_config(head, admin, f), true});
      std::string mdir = h.kube_manifest_dir;
      while (!mdir.empty() && mdir.front() == '/') mdir.erase(0, 1);
      while (!mdir.empty() && mdir.back() == '/') mdir.pop_back();
      out.push_back({dir + mdir + "/kha-proxy.yml", manifest(kDefaultImage, admin_port), false});
    }
    if (!h.etc_hosts.empty()) {
      std::string text = "# Lines for /etc/hosts on " + h.name + " (Kubespray 2.28 behaviour)\n";
      for (const auto& line : h.etc_hosts) text += line + "\n";
      out.push_back({dir + "etc/hosts.kha", text, false});
    }
  }
  if (c.external_lb) {
    const std::string listen = wildcard(c.external_lb_address, c.external_lb_port);
    FrontendSpec f{"kubernetes-apiserver-https", {listen}, "roundrobin", "https", cps,
                   {{"client_idle", "3h"}, {"server_idle", "3h"}}};
    out.push_back({"external-lb/etc/kha/kha.yaml",
                   kha_config(header(plan, "kha proxy as the external apiserver LB (" +
                                               c.apiserver_loadbalancer_domain_name.value_or("?") + ":" +
                                               std::to_string(c.external_lb_port) + "); hold the VIP with kha vip"),
                              "127.0.0.1:8081", f),
                   true});
    std::string hap = "# The document's HAProxy example for this cluster (ha-mode.md), equivalent to etc/kha/kha.yaml\n"
                      "listen kubernetes-apiserver-https\n  bind :" + std::to_string(c.external_lb_port) +
                      "\n  mode tcp\n  option log-health-checks\n  timeout client 3h\n  timeout server 3h\n";
    for (const auto& [name, address] : cps) hap += "  server " + name + " " + address + " check check-ssl verify none inter 10000\n";
    hap += "  balance roundrobin\n";
    out.push_back({"external-lb/haproxy.cfg", hap, false});
  }
  if (c.etcd_behind_vip && !c.etcd_member_client_backends.empty()) {
    std::string port = "2379";
    std::optional<std::string> vip;
    if (!c.etcd.access_addresses.empty()) {
      std::string a = c.etcd.access_addresses.front();
      a = a.substr(a.find("://") == std::string::npos ? 0 : a.find("://") + 3);
      if (auto hp = parse_host_port(a.substr(0, a.find('/')))) port = std::to_string(hp->port), vip = hp->host;
    }
    std::vector<std::pair<std::string, std::string>> members;
    for (const auto& b : c.etcd_member_client_backends) members.emplace_back(b, b);
    FrontendSpec f{"etcd", {wildcard(vip, std::stoi(port))}, "leastconn", "tls", members, {}};
    out.push_back({"etcd-lb/etc/kha/kha.yaml",
                   kha_config(header(plan, "kha proxy in front of etcd (etcd_access_addresses " +
                                               c.etcd.apiserver_etcd_servers + "); TLS passes through to the members"),
                              "127.0.0.1:8082", f),
                   true});
  }
  return out;
}

}  // namespace kha::planner
