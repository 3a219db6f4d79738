// Plan output: plan_to_json, plan_to_yaml, plan_to_table and the text of `kha plan explain`. Pure.
#include "planner/output.h"

#include <set>
#include <sstream>

#include "common/json_yaml.h"

namespace kha::planner {

using Json = nlohmann::ordered_json;

namespace {

Json opt(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }
Json sans(const SanSet& s) { return Json{{"dns", s.dns}, {"ip", s.ip}}; }

const char* version_name(KubesprayVersion v) { return v == KubesprayVersion::V2_28 ? "2.28" : "2.31"; }

}  // namespace

Json plan_to_json(const Plan& plan) {
  const ClusterPlan& c = plan.cluster;
  Json cluster{
      {"first_kube_control_plane", c.first_kube_control_plane},
      {"first_kube_control_plane_address", c.first_kube_control_plane_address},
      {"loadbalancer_apiserver_localhost", c.loadbalancer_apiserver_localhost},
      {"apiserver_loadbalancer_domain_name", opt(c.apiserver_loadbalancer_domain_name)},
      {"kube_apiserver_global_endpoint", c.kube_apiserver_global_endpoint},
      {"kubeadm_control_plane_endpoint", c.kubeadm_control_plane_endpoint},
      {"kube_proxy_kubeconfig_server", c.kube_proxy_kubeconfig_server},
      {"admin_kubeconfig_artifact_server", c.admin_kubeconfig_artifact_server},
      {"apiserver_sans", c.apiserver_sans},
      {"localhost_lb",
       {{"type", c.localhost_lb.type},
        {"installed_on", c.localhost_lb.installed_on},
        {"listen", c.localhost_lb.listen},
        {"upstreams", c.localhost_lb.upstreams},
        {"balance", c.localhost_lb.balance.empty() ? Json(nullptr) : Json(c.localhost_lb.balance)},
        {"healthz_endpoint", opt(c.localhost_lb.healthz_endpoint)}}},
      {"etcd",
       {{"access_addresses", c.etcd.access_addresses},
        {"apiserver_etcd_servers", c.etcd.apiserver_etcd_servers},
        {"cert_alt_names", c.etcd.cert_alt_names},
        {"cert_alt_ips", c.etcd.cert_alt_ips},
        {"member_cert_sans", sans(c.etcd.member_cert_sans)},
        {"initial_cluster", c.etcd.initial_cluster}}}};
  Json hosts = Json::object();
  for (const auto& h : plan.hosts) {
    Json j{{"roles", h.roles},
           {"main_ip", h.main_ip},
           {"main_access_ip", h.main_access_ip},
           {"kube_apiserver_endpoint", opt(h.kube_apiserver_endpoint)},
           {"kubelet_kubeconfig_server", opt(h.kubelet_kubeconfig_server)},
           {"kube_proxy_server", opt(h.kube_proxy_server)},
           {"controller_manager_server", opt(h.controller_manager_server)},
           {"scheduler_server", opt(h.scheduler_server)},
           {"admin_conf_server", opt(h.admin_conf_server)},
           {"kubeadm_join_discovery_endpoint", opt(h.kubeadm_join_discovery_endpoint)},
           {"localhost_lb_installed", h.localhost_lb_installed}};
    if (h.apiserver_cert_sans) j["apiserver_cert_sans"] = sans(*h.apiserver_cert_sans);
    if (h.etcd_member)
      j["etcd_member"] = Json{{"client_url", h.etcd_member->client_url},
                              {"peer_url", h.etcd_member->peer_url},
                              {"listen_client_urls", h.etcd_member->listen_client_urls},
                              {"listen_peer_urls", h.etcd_member->listen_peer_urls}};
    j["etc_hosts"] = h.etc_hosts;
    hosts[h.name] = std::move(j);
  }
  Json findings = Json::array();
  for (const auto& f : plan.findings)
    findings.push_back(Json{{"severity", f.severity}, {"code", f.code}, {"field", f.field}, {"message", f.message}});
  Json out{{"kubespray", version_name(plan.version)}};
  if (!plan.hosts.empty()) {
    out["cluster"] = std::move(cluster);
    out["hosts"] = std::move(hosts);
  }
  out["findings"] = std::move(findings);
  return out;
}

std::string plan_to_yaml(const Plan& plan) {
  return json_yaml(plan_to_json(plan));
}

std::string plan_to_table(const Plan& plan) {
  std::ostringstream out;
  const ClusterPlan& c = plan.cluster;
  std::size_t assumed_count = 0;
  std::set<std::string> assumed;  // "hosts.H.F" / "cluster.F" from the assumed-fact findings
  for (const auto& f : plan.findings)
    if (f.code == "assumed-fact") assumed.insert(f.field);
  out << "kha plan (Kubespray " << version_name(plan.version) << " behaviour), " << plan.hosts.size() << " hosts\n";
  auto row = [&](const HostPlan* h, const std::string& label, const std::string& field, const std::string& value) {
    const bool mark = assumed.count(h ? "hosts." + h->name + "." + field : "cluster." + field) > 0;
    assumed_count += mark;
    out << "  " << label << std::string(label.size() < 33 ? 33 - label.size() : 1, ' ') << value << (mark ? " *" : "") << "\n";
  };
  for (const auto& h : plan.hosts) {
    std::string roles;
    for (const auto& r : h.roles) roles += (roles.empty() ? "" : ", ") + r;
    out << "\n" << h.name << " (" << (roles.empty() ? "no Kubespray role" : roles) << ")\n";
    row(&h, "main_ip", "main_ip", h.main_ip);
    row(&h, "main_access_ip", "main_access_ip", h.main_access_ip);
    const std::pair<const char*, const std::optional<std::string>*> fields[] = {
        {"kube_apiserver_endpoint", &h.kube_apiserver_endpoint}, {"kubelet_kubeconfig_server", &h.kubelet_kubeconfig_server},
        {"kube_proxy_server", &h.kube_proxy_server}, {"controller_manager_server", &h.controller_manager_server},
        {"scheduler_server", &h.scheduler_server}, {"admin_conf_server", &h.admin_conf_server},
        {"kubeadm_join_discovery_endpoint", &h.kubeadm_join_discovery_endpoint}};
    for (const auto& [name, value] : fields)
      if (*value) row(&h, name, name, **value);
    row(&h, "localhost_lb_installed", "", h.localhost_lb_installed ? "yes" : "no");
    if (h.etcd_member) row(&h, "etcd client_url", "etcd_member", h.etcd_member->client_url);
    for (const auto& line : h.etc_hosts) row(&h, "/etc/hosts", "etc_hosts", line);
  }
  if (!plan.hosts.empty()) {
    out << "\ncluster\n";
    row(nullptr, "first_kube_control_plane", "", c.first_kube_control_plane + " (" + c.first_kube_control_plane_address + ")");
    row(nullptr, "global endpoint", "kube_apiserver_global_endpoint", c.kube_apiserver_global_endpoint);
    row(nullptr, "controlPlaneEndpoint", "kubeadm_control_plane_endpoint", c.kubeadm_control_plane_endpoint);
    row(nullptr, "kube-proxy server", "kube_proxy_kubeconfig_server", c.kube_proxy_kubeconfig_server);
    row(nullptr, "artifacts/admin.conf", "admin_kubeconfig_artifact_server", c.admin_kubeconfig_artifact_server);
    row(nullptr, "LB domain name", "", c.apiserver_loadbalancer_domain_name.value_or("(undefined)"));
    std::string on;
    for (const auto& h : c.localhost_lb.installed_on) on += (on.empty() ? "" : ", ") + h;
    row(nullptr, "localhost LB", "", c.localhost_lb.type + (on.empty() ? " (installed nowhere)" : " on " + on));
    std::string sans_text;
    for (const auto& s : c.apiserver_sans) sans_text += (sans_text.empty() ? "" : " ") + s;
    row(nullptr, "apiserver SANs", "apiserver_sans", sans_text);
    row(nullptr, "etcd servers", "", c.etcd.apiserver_etcd_servers);
  }
  out << "\nfindings\n";
  std::size_t shown = 0;
  for (const auto& f : plan.findings) {
    if (f.code == "assumed-fact") continue;
    ++shown;
    out << "  " << f.severity << " [" << f.code << "] " << f.field << ": " << f.message << "\n";
  }
  if (shown == 0) out << "  none\n";
  if (assumed_count > 0)
    out << "\n* rests on a fact that was not gathered (Kubespray's fallback, e.g. 127.0.0.1); pass --facts DIR or set ip\n";
  return out.str();
}

Result<std::string> explain(const Plan& plan, const std::string& host, const std::string& field) {
  const std::string top = field.substr(0, field.find('.'));
  auto it = plan.explanations.find(host + "/" + field);
  if (it == plan.explanations.end()) it = plan.explanations.find(host + "/" + top);
  if (it == plan.explanations.end() && host == "cluster" && top == "etcd") it = plan.explanations.find("cluster/etcd");
  if (it == plan.explanations.end()) {
    if (host != "cluster" && !plan.find_host(host))
      return Diagnostic{"", 0, 0, host, "no such host in the inventory (use an inventory name, or 'cluster')"};
    std::string known;
    for (const auto& [key, e] : plan.explanations)
      if (key.rfind(host + "/", 0) == 0) known += (known.empty() ? "" : ", ") + key.substr(host.size() + 1);
    return Diagnostic{"", 0, 0, field, "no such field for " + host + " (known: " + known + ")"};
  }
  std::ostringstream out;
  const Json j = plan_to_json(plan);
  Json value = host == "cluster" ? j["cluster"] : j["hosts"][host];
  std::string path = field;
  while (!path.empty() && value.is_object()) {
    const std::string part = path.substr(0, path.find('.'));
    path = path.find('.') == std::string::npos ? "" : path.substr(path.find('.') + 1);
    value = value.contains(part) ? value[part] : Json(nullptr);
  }
  out << host << " " << field << " = " << json_text(value) << "\n";
  out << "rule: " << it->second.rule << "\n";
  if (!it->second.inputs.empty()) out << "inputs:\n";
  for (const auto& use : it->second.inputs) out << "  " << use.name << " = " << use.value << "  (" << use.origin << ")\n";
  return out.str();
}

}  // namespace kha::planner
