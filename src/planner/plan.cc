// plan(): orchestration, typed variable reads and field recording. The rules live in
// addresses.cc, endpoints.cc, certificates.cc, etcd.cc and findings.cc.
#include "planner/plan.h"

#include <algorithm>
#include <arpa/inet.h>
#include <set>

#include "common/address.h"
#include "planner/context.h"
#include "planner/defaults.h"

namespace kha::planner {

bool Plan::has_errors() const {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.severity == "error"; });
}

const HostPlan* Plan::find_host(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

std::string url(const std::string& host, int port) { return "https://" + wrap_ipv6(host) + ":" + std::to_string(port); }

bool is_localhost_lb_type(const std::string& type) { return type == "nginx" || type == "haproxy" || type == "kha"; }

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
  return text;
}

std::string first_host_of_cidr(const std::string& cidr) {
  const auto slash = cidr.find('/');
  const std::string net = cidr.substr(0, slash);
  if (is_ipv4_literal(net)) {
    in_addr a{};
    inet_pton(AF_INET, net.c_str(), &a);
    a.s_addr = htonl(ntohl(a.s_addr) + 1);
    char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "";
  }
  if (is_ipv6_literal(net)) {
    in6_addr a{};
    inet_pton(AF_INET6, net.c_str(), &a);
    for (int i = 15; i >= 0; --i)
      if (++a.s6_addr[i] != 0) break;
    char buf[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, &a, buf, sizeof buf) ? buf : "";
  }
  return "";
}

PlanContext::PlanContext(const PlanInput& input) : in(input), inv(*input.inventory) {
  for (const auto& [host, facts] : input.facts) {
    VarMap& m = fact_vars_[host];
    const Source src{facts.file, 0, "facts"};
    if (facts.ipv4) m["ansible_default_ipv4"] = Var{Value{{"address", *facts.ipv4}}, src};
    if (facts.ipv6) m["ansible_default_ipv6"] = Var{Value{{"address", *facts.ipv6}}, src};
    if (facts.hostname) m["ansible_hostname"] = Var{Value(*facts.hostname), src};
    if (facts.fqdn) m["ansible_fqdn"] = Var{Value(*facts.fqdn), src};
  }
}

Scope& PlanContext::scope(const std::string& host) {
  auto it = scopes_.find(host);
  if (it != scopes_.end()) return *it->second;
  auto f = fact_vars_.find(host);
  auto s = std::make_unique<Scope>(inv, host, kubespray_defaults(in.version), f == fact_vars_.end() ? nullptr : &f->second);
  return *(scopes_[host] = std::move(s));
}

void PlanContext::input_error(Scope& s, const std::string& name, const std::string& message) {
  const Var* v = s.raw(name);
  Diagnostic d{v ? v->source.file : "", v ? v->source.line : 0, 0, name, message};
  if (v && v->source.file.empty()) d.message += " (" + v->source.layer + ")";
  for (const auto& e : input_errors)
    if (e.file == d.file && e.line == d.line && e.key == d.key && e.message == d.message) return;
  input_errors.push_back(std::move(d));
}

std::optional<std::string> PlanContext::opt_str(Scope& s, const std::string& name) {
  auto v = s.get(name);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number() || v->is_boolean()) return value_to_text(*v);
  input_error(s, name, "expected a string, got " + json_text(*v));
  return std::nullopt;
}

std::string PlanContext::str(Scope& s, const std::string& name, const std::string& fallback) {
  return opt_str(s, name).value_or(fallback);
}

bool PlanContext::boolean(Scope& s, const std::string& name, bool fallback) {
  auto v = s.get(name);
  if (!v || v->is_null()) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return v->get<double>() != 0;
  if (v->is_string()) {
    std::string t = v->get<std::string>();
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "true" || t == "yes" || t == "on" || t == "1" || t == "y") return true;
    if (t == "false" || t == "no" || t == "off" || t == "0" || t == "n" || t.empty()) return false;
  }
  input_error(s, name, "expected a boolean (true/false), got " + json_text(*v));
  return fallback;
}

int PlanContext::port(Scope& s, const std::string& name, int fallback) {
  auto v = s.get(name);
  if (!v || v->is_null()) return fallback;
  long long p = -1;
  if (v->is_number_integer()) p = v->get<long long>();
  else if (v->is_string()) {
    try {
      std::size_t used = 0;
      const std::string t = v->get<std::string>();
      p = std::stoll(t, &used);
      if (used != t.size()) p = -1;
    } catch (const std::exception&) {
      p = -1;
    }
  }
  if (p < 1 || p > 65535) {
    input_error(s, name, "expected a port number from 1 to 65535, got " + json_text(*v));
    return fallback;
  }
  return static_cast<int>(p);
}

std::vector<std::string> PlanContext::str_list(Scope& s, const std::string& name) {
  std::vector<std::string> out;
  auto v = s.get(name);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) {
    input_error(s, name, "expected a list, got " + json_text(*v));
    return out;
  }
  for (const auto& item : *v)
    if (item.is_string()) out.push_back(item.get<std::string>());
    else if (!item.is_null()) out.push_back(value_to_text(item));
  return out;
}

void PlanContext::begin(const std::string& owner, const std::string& field) {
  cur_owner_ = owner;
  cur_field_ = field;
  cur_assumed_ = false;
  cur_notes_.clear();
  scope(owner == "cluster" ? (cps.empty() ? std::string() : cps.front()) : owner).take_trace();
  for (auto& [name, s] : scopes_) s->take_trace();
}

void PlanContext::uses_address_of(const std::string& host, bool access) {
  auto it = addr.find(host);
  if (it == addr.end()) return;
  const auto& a = it->second;
  if (access ? a.main_access_ip_assumed : a.main_ip_assumed) cur_assumed_ = true;
  note(std::string(access ? "main_access_ip" : "main_ip") + " of " + host, access ? a.main_access_ip : a.main_ip,
       access ? a.how_main_access_ip : a.how_main_ip);
}

void PlanContext::note(const std::string& name, const std::string& value, const std::string& origin) {
  for (const auto& n : cur_notes_)
    if (n.name == name) return;
  cur_notes_.push_back({name, value, origin});
}

void PlanContext::uses_lb_view_of(const std::string& host) {
  for (const auto& use : lb_inputs[host]) note(use.name, use.value, use.origin);
}

void PlanContext::end(const std::string& rule) {
  Explanation e{rule, {}};
  const std::string self = cur_owner_ == "cluster" ? (cps.empty() ? std::string() : cps.front()) : cur_owner_;
  for (auto& [name, s] : scopes_)
    for (auto& use : s->take_trace()) {
      if (name != self) use.name += " (of " + name + ")";
      e.inputs.push_back(std::move(use));
    }
  for (auto& n : cur_notes_) e.inputs.push_back(n);
  plan.explanations[cur_owner_ + "/" + cur_field_] = std::move(e);
  if (cur_assumed_) assumed[cur_owner_].insert(cur_field_);
}

void PlanContext::finding(const std::string& severity, const std::string& code, const std::string& field,
                          const std::string& message) {
  for (const auto& f : plan.findings)
    if (f.code == code && f.field == field) return;
  plan.findings.push_back({severity, code, field, message});
}

namespace {

std::vector<std::string> unique_concat(std::initializer_list<const std::vector<std::string>*> lists) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto* l : lists)
    for (const auto& h : *l)
      if (seen.insert(h).second) out.push_back(h);
  return out;
}

}  // namespace

Result<Plan> plan(const PlanInput& input) {
  PlanContext ctx(input);
  const Inventory& inv = *input.inventory;
  ctx.plan.version = input.version;
  ctx.cps = inv.hosts_of("kube_control_plane");
  ctx.nodes = inv.hosts_of("kube_node");
  ctx.calico_rr = inv.hosts_of("calico_rr");
  ctx.etcd_group = inv.hosts_of("etcd");
  // groups['k8s_cluster'] in the inventory's order when it is declared (it decides which host
  // settles kube-proxy's server), completed by the members Kubespray's dynamic_groups adds.
  const std::vector<std::string> declared = inv.hosts_of("k8s_cluster");
  ctx.k8s_cluster = unique_concat({&declared, &ctx.cps, &ctx.nodes, &ctx.calico_rr});
  if (ctx.cps.empty()) {
    ctx.finding("error", "no-control-plane", "kube_control_plane",
                "the kube_control_plane group is empty or missing; Kubespray's inventory check fails "
                "(validate_inventory): add at least one host to [kube_control_plane]");
    return std::move(ctx.plan);
  }
  compute_addresses(ctx);
  if (ctx.input_errors.empty()) compute_endpoints(ctx);
  if (ctx.input_errors.empty()) compute_certificates(ctx);
  if (ctx.input_errors.empty()) compute_etcd(ctx);
  if (ctx.input_errors.empty()) compute_etc_hosts(ctx);
  // A host whose budget ran out read every later variable as undefined: the other errors are
  // echoes of that one, so only the cause is reported.
  for (const auto& h : inv.host_order())
    if (ctx.scope(h).stopped()) return ctx.scope(h).errors();
  for (const auto& h : inv.host_order()) {
    for (const auto& e : ctx.scope(h).errors()) {
      bool dup = false;
      for (const auto& x : ctx.input_errors) dup = dup || (x.file == e.file && x.line == e.line && x.key == e.key);
      if (!dup) ctx.input_errors.push_back(e);
    }
  }
  if (!ctx.input_errors.empty()) return ctx.input_errors;
  compute_findings(ctx);
  if (!ctx.input_errors.empty()) return ctx.input_errors;
  return std::move(ctx.plan);
}

}  // namespace kha::planner
