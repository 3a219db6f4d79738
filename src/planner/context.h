// PlanContext: the working state of one plan() call, shared by the rule files (plan.cc,
// addresses.cc, certificates.cc, findings.cc). Internal to the planner module.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planner/plan.h"

namespace kha::planner {

// The addresses of one host (spec 1.1), with whether each rests on a fact that was not gathered.
struct HostAddresses {
  std::string ipv4, access_ipv4, ipv6, access_ipv6;  // "" when the stack is off and nothing is known
  std::string main_ip, main_access_ip;
  std::vector<std::string> main_ips, main_access_ips;
  bool main_ip_assumed = false, main_access_ip_assumed = false;
  std::string how_main_ip, how_main_access_ip;  // for explain
};

// The LB settings one host sees (spec 2.1).
struct LbView {
  bool defined = false;
  std::optional<std::string> address;
  std::optional<int> port_set;
  int lp = 6443, sp = 6443, nsp = 6443;
  bool localhost = false;
  std::optional<std::string> name;  // apiserver_loadbalancer_domain_name as it ends up
  bool name_user_set = false;
  std::string type;
  std::string bind;
};

class PlanContext {
 public:
  explicit PlanContext(const PlanInput& input);

  const PlanInput& in;
  const Inventory& inv;
  bool legacy() const { return in.version == KubesprayVersion::V2_28; }

  Scope& scope(const std::string& host);
  // Typed reads; a wrong type or range becomes an input error naming the variable's source.
  std::string str(Scope& s, const std::string& name, const std::string& fallback = "");
  std::optional<std::string> opt_str(Scope& s, const std::string& name);
  bool boolean(Scope& s, const std::string& name, bool fallback = false);
  int port(Scope& s, const std::string& name, int fallback);
  std::vector<std::string> str_list(Scope& s, const std::string& name);
  void input_error(Scope& s, const std::string& name, const std::string& message);

  // Field recording for explain and assumed-fact marking.
  void begin(const std::string& owner, const std::string& field);
  void uses_address_of(const std::string& host, bool access);  // marks the field assumed when needed
  void note(const std::string& name, const std::string& value, const std::string& origin);
  // Notes the variables that decided host's LB view (read before the field began).
  void uses_lb_view_of(const std::string& host);
  void end(const std::string& rule);

  void finding(const std::string& severity, const std::string& code, const std::string& field,
               const std::string& message);

  // Groups as Kubespray sees them.
  std::vector<std::string> cps, nodes, calico_rr, etcd_group, etcd_hosts, k8s_cluster;
  std::map<std::string, HostAddresses> addr;
  std::map<std::string, LbView> lb;  // per host
  std::map<std::string, std::string> endpoint;  // kube_apiserver_endpoint per host in k8s_cluster
  std::map<std::string, std::vector<VarUse>> lb_inputs;  // variables read by compute_lb_view, per host
  Diagnostics input_errors;
  Plan plan;
  std::map<std::string, std::set<std::string>> assumed;  // owner -> fields

 private:
  std::map<std::string, std::unique_ptr<Scope>> scopes_;
  std::map<std::string, VarMap> fact_vars_;
  std::string cur_owner_, cur_field_;
  bool cur_assumed_ = false;
  std::vector<VarUse> cur_notes_;
};

// Rule parts, one file each.
void compute_addresses(PlanContext& ctx);                         // addresses.cc
LbView compute_lb_view(PlanContext& ctx, const std::string& host);  // endpoints.cc
void compute_endpoints(PlanContext& ctx);                         // endpoints.cc
void compute_certificates(PlanContext& ctx);                      // certificates.cc
void compute_etcd(PlanContext& ctx);                              // etcd.cc
void compute_etc_hosts(PlanContext& ctx);                         // etcd.cc
void compute_findings(PlanContext& ctx);                          // findings.cc

// Helpers shared by the rule files.
std::string url(const std::string& host, int port);  // https://wrap(host):port
std::string replace_all(std::string text, const std::string& from, const std::string& to);
std::string first_host_of_cidr(const std::string& cidr);  // "" when malformed
// The loadbalancer_apiserver_type values that put a LB on the nodes: Kubespray's nginx and
// haproxy, and kha (installed by deploy/ansible's kha_proxy role on the same hosts).
bool is_localhost_lb_type(const std::string& type);

}  // namespace kha::planner
