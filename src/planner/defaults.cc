// kubespray_defaults(): Kubespray's role defaults per version, as the lowest-precedence VarMap.
#include "planner/defaults.h"

#include "planner/plan.h"

namespace kha::planner {

namespace {

VarMap build(KubesprayVersion version) {
  VarMap m;
  const std::string where = version == KubesprayVersion::V2_28 ? "Kubespray 2.28 default" : "Kubespray default";
  auto set = [&](const std::string& name, Value v) { m[name] = Var{std::move(v), Source{"", 0, where}}; };
  set("kube_apiserver_port", 6443);
  set("kube_apiserver_bind_address", "::");
  set("cluster_name", "cluster.local");
  set("dns_domain", "{{ cluster_name }}");
  set("kube_service_addresses", "10.233.0.0/18");
  set("kube_service_addresses_ipv6", "fd85:ee78:d8a6:8607::1000/116");
  set("ipv4_stack", true);
  set("ipv6_stack", "{{ enable_dual_stack_networks | default(false) }}");
  set("kube_override_hostname", "{{ inventory_hostname }}");
  set("loadbalancer_apiserver_type", "nginx");
  set("kube_config_dir", "/etc/kubernetes");
  set("kube_manifest_dir", "{{ kube_config_dir }}/manifests");
  set("loadbalancer_apiserver_keepalive_timeout", "5m");
  set("etcd_deployment_type", "host");
  set("etcd_cert_alt_names", Value::array({"etcd.kube-system.svc.{{ dns_domain }}", "etcd.kube-system.svc",
                                           "etcd.kube-system", "etcd"}));
  set("etcd_cert_alt_ips", Value::array());
  set("supplementary_addresses_in_ssl_keys", Value::array());
  set("kube_vip_enabled", false);
  set("kube_vip_address", nullptr);
  set("kubeconfig_localhost", false);
  set("kubeconfig_localhost_ansible_host", false);
  set("remove_anonymous_access", false);
  set("kubeadm_use_file_discovery", "{{ remove_anonymous_access }}");
  set("kube_proxy_remove", false);
  set("ignore_assert_errors", false);
  set("populate_inventory_to_hosts_file", true);
  set("populate_loadbalancer_apiserver_to_hosts_file", true);
  set("populate_localhost_entries_to_hosts_file", true);
  return m;
}

}  // namespace

const VarMap& kubespray_defaults(KubesprayVersion version) {
  static const VarMap current = build(KubesprayVersion::V2_31);
  static const VarMap legacy = build(KubesprayVersion::V2_28);
  return version == KubesprayVersion::V2_28 ? legacy : current;
}

}  // namespace kha::planner
