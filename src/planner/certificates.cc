// Spec 5: the apiserver certificate SANs, Kubespray's list (apiserver_sans) and what kubeadm
// puts in each control plane's certificate.
#include <cctype>
#include <regex>
#include <set>

#include "common/address.h"
#include "planner/context.h"

namespace kha::planner {

namespace {

void add_unique(std::vector<std::string>* out, std::set<std::string>* seen, const std::string& v) {
  if (!v.empty() && seen->insert(v).second) out->push_back(v);
}

bool is_ip(const std::string& s) { return is_ipv4_literal(s) || is_ipv6_literal(s); }

// kubeadm keeps DNS-1123 subdomains and wildcards, drops the rest with a warning.
bool valid_dns_name(const std::string& s) {
  static const std::regex kName(R"((\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  return s.size() <= 253 && std::regex_match(s, kName);
}

std::optional<std::string> fact_address(Scope& s, const std::string& fact) {
  auto f = s.get(fact);
  if (f && f->is_object() && f->contains("address") && (*f)["address"].is_string()) return (*f)["address"].get<std::string>();
  return std::nullopt;
}

}  // namespace

void compute_certificates(PlanContext& ctx) {
  const std::string& first = ctx.cps.front();
  Scope& s = ctx.scope(first);
  ClusterPlan& c = ctx.plan.cluster;
  const LbView& f = ctx.lb[first];
  ctx.begin("cluster", "apiserver_sans");
  ctx.uses_lb_view_of(first);
  std::vector<std::string> sans;
  std::set<std::string> seen;
  const std::string dns_domain = ctx.str(s, "dns_domain", "cluster.local");
  std::string service_ip = ctx.str(s, "kube_apiserver_ip");
  if (service_ip.empty()) {
    const bool v4 = ctx.boolean(s, "ipv4_stack", true);
    const std::string subnet = ctx.str(s, v4 ? "kube_service_addresses" : "kube_service_addresses_ipv6");
    service_ip = first_host_of_cidr(subnet);
    if (service_ip.empty())
      ctx.input_error(s, v4 ? "kube_service_addresses" : "kube_service_addresses_ipv6",
                      "expected a subnet in CIDR form (10.233.0.0/18), got '" + subnet + "'");
  }
  for (const std::string& n : {std::string("kubernetes"), std::string("kubernetes.default"),
                               std::string("kubernetes.default.svc"), "kubernetes.default.svc." + dns_domain, service_ip,
                               std::string("localhost"), std::string("127.0.0.1"), std::string("::1")})
    add_unique(&sans, &seen, n);
  if (ctx.legacy())
    for (const auto& cp : ctx.cps) add_unique(&sans, &seen, cp);
  if (f.name) add_unique(&sans, &seen, *f.name);
  if (f.address) add_unique(&sans, &seen, *f.address);
  for (const auto& extra : ctx.str_list(s, "supplementary_addresses_in_ssl_keys")) add_unique(&sans, &seen, extra);
  // Then each source over all control planes in turn (not host by host), as Kubespray's
  // `groups['kube_control_plane'] | map('extract', ...)` list items: main_access_ip and main_ip
  // are the scalars (IPv4 in dual stack; the IPv6 addresses come only from the default-IPv6
  // fact), then the default-route facts, hostnames, FQDNs.
  bool facts_missing = false;
  const auto each_cp = [&](const auto& value_of) {
    for (const auto& cp : ctx.cps)
      if (auto v = value_of(cp)) add_unique(&sans, &seen, *v);
  };
  const auto fact_of = [&](const char* fact, bool required) {
    return [&ctx, &facts_missing, fact, required](const std::string& cp) {
      auto a = fact_address(ctx.scope(cp), fact);
      if (!a && required) facts_missing = true;
      return a;
    };
  };
  const auto name_of = [&](const char* fact) {
    return [&ctx, &facts_missing, fact](const std::string& cp) {
      auto n = ctx.opt_str(ctx.scope(cp), fact);
      if (!n) facts_missing = true;
      return n;
    };
  };
  each_cp([&](const std::string& cp) {
    ctx.uses_address_of(cp, true);
    return std::optional<std::string>(ctx.addr[cp].main_access_ip);
  });
  each_cp([&](const std::string& cp) {
    ctx.uses_address_of(cp, false);
    return std::optional<std::string>(ctx.addr[cp].main_ip);
  });
  const std::string override_name = ctx.str(s, "kube_override_hostname", first);
  if (ctx.legacy()) {
    // 2.28 extracted ['ansible_default_ipv6', 'ansible_default_ipv4', 'address'], a path that
    // never exists: no default-route address was added; kube_override_hostname came before
    // the hostnames.
    add_unique(&sans, &seen, override_name);
    each_cp(name_of("ansible_hostname"));
    each_cp(name_of("ansible_fqdn"));
  } else {
    each_cp(fact_of("ansible_default_ipv4", true));
    each_cp(fact_of("ansible_default_ipv6", false));
    each_cp(name_of("ansible_hostname"));
    each_cp(name_of("ansible_fqdn"));
    add_unique(&sans, &seen, override_name);
  }
  if (auto vip = ctx.opt_str(s, "kube_vip_address")) {
    add_unique(&sans, &seen, *vip);
    if (ctx.boolean(s, "kube_vip_enabled", false) && !vip->empty()) c.kube_vip_address = *vip;
  }
  c.apiserver_sans = sans;
  ctx.end("control-plane/tasks/kubeadm-setup.yml:26-50 on the first control plane: kubernetes names, kube_apiserver_ip, "
          "localhost, 127.0.0.1, ::1" + std::string(ctx.legacy() ? ", (2.28) every control plane's inventory name" : "") +
          ", apiserver_loadbalancer_domain_name, loadbalancer_apiserver.address, supplementary_addresses_in_ssl_keys, then "
          "each source over all control planes in turn: main_access_ip, main_ip" +
          std::string(ctx.legacy() ? ", kube_override_hostname, ansible_hostname, ansible_fqdn (2.28: no default-route "
                                     "address, its fact path never existed)"
                                   : ", ansible_default_ipv4.address, ansible_default_ipv6.address, ansible_hostname, "
                                     "ansible_fqdn, then kube_override_hostname") +
          "; then kube_vip_address; flattened, empties dropped, duplicates removed keeping the first (no sorting). In "
          "dual stack main_access_ip/main_ip are the IPv4 ones: ip6/access_ip6 only via the default-IPv6 fact");
  if (facts_missing) ctx.assumed["cluster"].insert("apiserver_sans");

  // Per control plane: what kubeadm writes (node name, kubernetes names, service IP, advertise
  // address, controlPlaneEndpoint host, then the stored certSANs: the first control plane's list).
  std::string cpe_host = c.kubeadm_control_plane_endpoint;
  const auto colon = cpe_host.rfind(':');
  if (!cpe_host.empty() && cpe_host[0] == '[') cpe_host = cpe_host.substr(1, cpe_host.find(']') - 1);
  else if (colon != std::string::npos && cpe_host.find(':') == colon) cpe_host = cpe_host.substr(0, colon);
  else cpe_host.clear();  // unbracketed IPv6 host:port: kubeadm cannot split it
  for (auto& hp : ctx.plan.hosts) {
    if (!hp.is_control_plane) continue;
    Scope& hs = ctx.scope(hp.name);
    ctx.begin(hp.name, "apiserver_cert_sans");
    SanSet set;
    std::set<std::string> dseen, iseen;
    std::vector<std::string> all{ctx.str(hs, "kube_override_hostname", hp.name), "kubernetes", "kubernetes.default",
                                 "kubernetes.default.svc", "kubernetes.default.svc." + dns_domain, service_ip, hp.main_ip};
    ctx.uses_address_of(hp.name, false);
    if (!cpe_host.empty()) all.push_back(cpe_host);
    all.insert(all.end(), sans.begin(), sans.end());
    for (const auto& n : all) {
      if (is_ip(n)) add_unique(&set.ip, &iseen, n);
      else if (valid_dns_name(n)) add_unique(&set.dns, &dseen, n);
    }
    hp.apiserver_cert_sans = set;
    ctx.end("[kubeadm] node name, the four kubernetes names, the service IP, the advertise address (main_ip), the "
            "controlPlaneEndpoint host, then certSANs = cluster.apiserver_sans (joining control planes use the first "
            "control plane's stored list); split into names and IPs, invalid names dropped, duplicates removed");
    if (facts_missing) ctx.assumed[hp.name].insert("apiserver_cert_sans");
  }
}

}  // namespace kha::planner
