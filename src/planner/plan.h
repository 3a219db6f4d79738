// plan(): from an inventory (and facts), every endpoint Kubespray would configure, per host and
// cluster-wide, following ../shared/spec/kubespray-endpoints.md sections 1-6, in the current
// (2.31) or the legacy (2.28) behaviour, plus findings for every quirk the spec lists. Pure.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "planner/inventory.h"
#include "planner/scope.h"

namespace kha::planner {

enum class KubesprayVersion { V2_31, V2_28 };

// Facts of one host as Ansible's fact cache holds them; absent members were not gathered.
struct Facts {
  std::optional<std::string> ipv4, ipv6, hostname, fqdn;
  std::string file;  // where they were read
};

struct PlanInput {
  const Inventory* inventory = nullptr;
  std::map<std::string, Facts> facts;  // by inventory host name
  bool facts_given = false;            // --facts was passed
  KubesprayVersion version = KubesprayVersion::V2_31;
};

struct Finding {
  std::string severity;  // "error" (Kubespray rejects it: exit 2, nothing rendered) or "warning"
  std::string code;      // stable, e.g. "kube-proxy-port"
  std::string field;     // the variable or output field concerned
  std::string message;   // what happens and what to change
};

struct SanSet {
  std::vector<std::string> dns, ip;
};

struct EtcdMember {
  std::string client_url, peer_url;
  std::vector<std::string> listen_client_urls, listen_peer_urls;
};

struct HostPlan {
  std::string name;
  std::vector<std::string> roles;  // kube_control_plane, kube_node, etcd, calico_rr (those it is in)
  std::string main_ip, main_access_ip;
  std::optional<std::string> kube_apiserver_endpoint, kubelet_kubeconfig_server, kube_proxy_server,
      controller_manager_server, scheduler_server, admin_conf_server, kubeadm_join_discovery_endpoint;
  bool localhost_lb_installed = false;
  std::optional<SanSet> apiserver_cert_sans;  // control planes only
  std::optional<EtcdMember> etcd_member;      // etcd members only
  std::vector<std::string> etc_hosts;
  std::set<std::string> assumed;  // fields resting on a fact that was not gathered
  // Inputs the renderer needs.
  bool is_control_plane = false, in_k8s_cluster = false;
  std::string main_access_ip6;  // "" unless known
  std::string kube_manifest_dir;  // where the kubelet reads static pods
};

struct LocalhostLb {
  std::string type;  // nginx | haproxy | kha | <the unknown value>
  std::vector<std::string> installed_on, listen, upstreams;
  // Hosts of installed_on whose apiserver binds all interfaces on the LB's port: no LB can bind
  // 127.0.0.1 there (Kubespray installs one anyway); kha's render and role refuse them.
  std::vector<std::string> port_taken_on;
  std::string balance;
  std::optional<std::string> healthz_endpoint;
};

struct EtcdPlan {
  std::vector<std::string> access_addresses;
  std::string apiserver_etcd_servers;
  std::vector<std::string> cert_alt_names, cert_alt_ips;
  SanSet member_cert_sans;
  std::string initial_cluster;
};

struct ClusterPlan {
  std::string first_kube_control_plane, first_kube_control_plane_address;
  bool loadbalancer_apiserver_localhost = false;
  std::optional<std::string> apiserver_loadbalancer_domain_name;
  std::string kube_apiserver_global_endpoint, kubeadm_control_plane_endpoint, kube_proxy_kubeconfig_server,
      admin_kubeconfig_artifact_server;
  std::vector<std::string> apiserver_sans;
  std::optional<std::string> kube_vip_address;  // set when kube_vip_enabled: clients dial it (check-certs)
  LocalhostLb localhost_lb;
  EtcdPlan etcd;
  // Inputs the renderer needs.
  int apiserver_port = 6443, lb_port = 6443;
  int healthcheck_port = 0;  // loadbalancer_apiserver_healthcheck_port, 0 when undefined
  bool ipv6_stack = false, external_lb = false;
  std::optional<std::string> external_lb_address;
  int external_lb_port = 0;
  std::vector<std::string> control_plane_backends;  // wrap(main_access_ip):sp, group order
  std::vector<std::string> control_plane_names;
  bool etcd_behind_vip = false;
  std::vector<std::string> etcd_member_client_backends;  // wrap(main_access_ip):2379
};

// Why a field has its value: the rule applied and the variables read.
struct Explanation {
  std::string rule;
  std::vector<VarUse> inputs;
};

struct Plan {
  KubesprayVersion version = KubesprayVersion::V2_31;
  ClusterPlan cluster;
  std::vector<HostPlan> hosts;  // inventory order
  std::vector<Finding> findings;
  // Key "HOST/FIELD", or "cluster/FIELD" for cluster-wide values.
  std::map<std::string, Explanation> explanations;
  bool has_errors() const;
  const HostPlan* find_host(const std::string& name) const;
};

// Evaluates the plan. Returns diagnostics (not findings) for input that cannot be evaluated:
// a template error, an undefined variable, an invalid address or port. Settings Kubespray
// rejects come back as a Plan whose findings include errors (has_errors()).
Result<Plan> plan(const PlanInput& input);

}  // namespace kha::planner
