// Spec 6-8 and 10: settings Kubespray rejects (errors) and the quirks it accepts silently
// (warnings), each naming the variable, what happens and what to change.
#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "common/address.h"
#include "planner/context.h"

namespace kha::planner {

namespace {

bool dns1123(const std::string& s) {
  static const std::regex kName(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  return s.size() <= 253 && std::regex_match(s, kName);
}

}  // namespace

void compute_findings(PlanContext& ctx) {
  const std::string& first = ctx.cps.front();
  Scope& s = ctx.scope(first);
  const ClusterPlan& c = ctx.plan.cluster;
  const LbView& f = ctx.lb[first];
  const bool ignore_asserts = ctx.boolean(s, "ignore_assert_errors", false);
  // Kubespray's asserts: errors, unless ignore_assert_errors makes Kubespray carry on.
  auto assert_failed = [&](const std::string& code, const std::string& field, const std::string& message) {
    ctx.finding(ignore_asserts ? "warning" : "error", code, field,
                message + (ignore_asserts ? " (ignore_assert_errors is set: Kubespray carries on anyway)" : ""));
  };

  const std::string type = ctx.str(s, "etcd_deployment_type", "host");
  if (type != "host" && type != "docker" && type != "kubeadm")
    assert_failed("etcd-deployment-type", "etcd_deployment_type",
                  "etcd_deployment_type is '" + type + "'; Kubespray accepts host, docker or kubeadm");
  if (ctx.etcd_group.empty() && type != "kubeadm")
    assert_failed("etcd-empty", "etcd", "the etcd group is empty and etcd_deployment_type is not kubeadm; Kubespray's "
                                        "inventory check fails: add an odd number of hosts to [etcd]");
  if (!ctx.etcd_group.empty() && ctx.etcd_group.size() % 2 == 0)
    assert_failed("etcd-even", "etcd",
                  "the etcd group has " + std::to_string(ctx.etcd_group.size()) +
                      " members; Kubespray requires an odd number (quorum): add or remove one member");
  for (const auto& h : ctx.inv.host_order())
    if (!dns1123(h))
      assert_failed("hostname-invalid", "hosts." + h,
                    "inventory name '" + h + "' is not a DNS-1123 name (lower-case letters, digits, '-' and '.'); "
                    "Kubespray's preinstall check fails: rename the host");

  // Quirks Kubespray accepts.
  const std::string sp = std::to_string(f.sp), nsp = std::to_string(f.nsp);
  const bool lb_on_some = !c.localhost_lb.installed_on.empty();
  if (lb_on_some && f.nsp != f.sp && c.kube_proxy_kubeconfig_server == "https://127.0.0.1:" + sp)
    ctx.finding("warning", "kube-proxy-port", "loadbalancer_apiserver_port",
                "loadbalancer_apiserver_port is " + nsp + " but kube_apiserver_port is " + sp +
                    ": kube-proxy (one kubeconfig for all nodes) is set to https://127.0.0.1:" + sp +
                    ", where nothing listens on workers (the local LB listens on " + nsp +
                    "), so kube-proxy breaks on every worker; keep loadbalancer_apiserver_port equal to kube_apiserver_port");
  if (f.bind != "::") {
    if (ctx.cps.size() > 1)
      ctx.finding("warning", "bind-join-self", "kube_apiserver_bind_address",
                  "kube_apiserver_bind_address is '" + f.bind + "': control-plane endpoints no longer contain "
                  "127.0.0.1, so each joining control plane discovers the cluster through its own address and waits on "
                  "an apiserver that is not up yet (kubespray#7962); keep the default '::'");
    if (f.localhost && !f.defined && c.kube_proxy_kubeconfig_server != "https://127.0.0.1:" + sp)
      ctx.finding("warning", "kube-proxy-first-cp", "kube_apiserver_bind_address",
                  "with kube_apiserver_bind_address '" + f.bind + "' the kube-proxy rewrite to the local LB is skipped: "
                  "kube-proxy on every node uses " + c.kube_proxy_kubeconfig_server +
                  " (the first control plane only, no failover; kubespray#8259); keep the default '::'");
    if (f.localhost && !f.defined)
      ctx.finding("warning", "lb-on-control-planes", "kube_apiserver_bind_address",
                  "kube_apiserver_bind_address is not '::', so the localhost LB is also installed on control planes "
                  "(listening on 127.0.0.1:" + nsp + "), though nothing there uses it");
  }
  if (f.bind == "0.0.0.0")
    ctx.finding("warning", "bind-all-ipv4", "kube_apiserver_bind_address",
                "kube_apiserver_bind_address 0.0.0.0 is no longer rewritten to 127.0.0.1: control planes use "
                "https://0.0.0.0:" + sp + (f.nsp == f.sp && f.localhost && !f.defined
                    ? ", and the localhost LB installed on control planes wants 127.0.0.1:" + nsp +
                      " which the apiserver already holds on all interfaces" : std::string()) +
                "; use the default '::' (all interfaces, v4 and v6)");
  if (f.bind != "::" && is_ipv6_literal(f.bind) && f.bind.find("::") != std::string::npos)
    ctx.finding("warning", "bind-ipv6-mangled", "kube_apiserver_bind_address",
                "Kubespray replaces every '::' in kube_apiserver_bind_address with 127.0.0.1, so '" + f.bind +
                    "' gives the control-plane endpoint " + ctx.endpoint[first] + "; write the address without '::' "
                    "(fully expanded) or keep the default '::'");
  if (f.defined && f.localhost) {
    if (f.name_user_set || ctx.legacy())
      ctx.finding("warning", "lb-and-localhost", "loadbalancer_apiserver_localhost",
                  "loadbalancer_apiserver and loadbalancer_apiserver_localhost are both on: every client uses the "
                  "external LB and the localhost LB installed on workers is unused; set loadbalancer_apiserver_localhost: false");
    else
      ctx.finding("warning", "lb-and-localhost", "loadbalancer_apiserver_localhost",
                  "loadbalancer_apiserver and loadbalancer_apiserver_localhost are both on and "
                  "apiserver_loadbalancer_domain_name is not set: its default becomes 'localhost', so every client "
                  "(control planes too) uses https://localhost:" + std::to_string(f.lp) + " while the local LB listens "
                  "on " + nsp + " and only on workers: the cluster breaks; set loadbalancer_apiserver_localhost: false "
                  "or apiserver_loadbalancer_domain_name");
  }
  if (f.defined && f.address && is_ipv6_literal(*f.address) && f.name && *f.name == *f.address)
    ctx.finding("warning", "lb-ipv6-no-domain", "apiserver_loadbalancer_domain_name",
                "the external LB is an IPv6 address and apiserver_loadbalancer_domain_name is not set: kubeadm's "
                "controlPlaneEndpoint and the control-plane join endpoint become the unbracketed '" +
                    c.kubeadm_control_plane_endpoint + "' (kubeadm cannot split host and port); set "
                    "apiserver_loadbalancer_domain_name to a name that resolves to the LB");
  if (f.defined && f.lp == f.sp && (f.bind == "::" || f.bind == "0.0.0.0"))
    ctx.finding("warning", "lb-port-conflict", "loadbalancer_apiserver.port",
                "loadbalancer_apiserver.port equals kube_apiserver_port (" + sp + ") while the apiserver binds all "
                "interfaces ('" + f.bind + "'): an LB running on a control plane cannot bind the VIP on that port; use "
                "another LB port (the document uses 8383) or set kube_apiserver_bind_address to one interface");
  if (f.localhost && !f.defined && !is_localhost_lb_type(f.type))
    ctx.finding("warning", "lb-type-unknown", "loadbalancer_apiserver_type",
                "loadbalancer_apiserver_type '" + f.type + "' is neither nginx, haproxy nor kha: Kubespray installs no "
                "local LB while workers still point at https://localhost:" + nsp + "; use nginx or haproxy, or kha "
                "with the kha_proxy role (deploy/ansible/kha.yml)");
  for (const char* v : {"kube_apiserver_insecure_bind_address", "kube_apiserver_insecure_port"})
    if (s.user_set(v))
      ctx.finding("warning", "insecure-port-obsolete", v,
                  std::string(v) + " has no effect: the insecure port was removed from Kubernetes and Kubespray; "
                  "remove the variable");
  if (!f.defined && !f.localhost) {
    std::string msg = "no LB of any kind: every node reaches the apiserver through the first control plane (" +
                      c.kubeadm_control_plane_endpoint + "), which is a single point of failure";
    if (ctx.addr[first].main_ip != ctx.addr[first].main_access_ip)
      msg += "; workers' kubelet.conf keeps its main_ip " + ctx.addr[first].main_ip + " although the endpoint variable says " +
             ctx.addr[first].main_access_ip;
    ctx.finding("warning", "no-ha-endpoint", "loadbalancer_apiserver_localhost",
                msg + "; enable loadbalancer_apiserver_localhost or define loadbalancer_apiserver");
  }
  if (!ctx.legacy() && f.defined && f.name_user_set && f.name && !is_ipv4_literal(*f.name) && !is_ipv6_literal(*f.name) &&
      *f.name != "localhost")
    ctx.finding("warning", "lb-name-needs-dns", "apiserver_loadbalancer_domain_name",
                "Kubespray 2.29+ no longer writes apiserver_loadbalancer_domain_name '" + *f.name + "' into /etc/hosts: it must resolve through DNS on "
                "every node (or run `kha plan --kubespray 2.28` for the old /etc/hosts lines)");
  if (lb_on_some && c.localhost_lb.healthz_endpoint)
    ctx.finding("warning", "healthz-all-interfaces", "loadbalancer_apiserver_healthcheck_port",
                "the local LB's /healthz (loadbalancer_apiserver_healthcheck_port) listens on every interface (" +
                    *c.localhost_lb.healthz_endpoint + ", kubespray#12809) and answers 200 whatever the backends' state");

  // etcd behind a VIP (spec 9).
  const EtcdPlan& e = c.etcd;
  if (s.user_set("etcd_client_url") && ctx.etcd_hosts.size() > 1) {
    std::set<std::string> urls;
    for (const auto& hp : ctx.plan.hosts)
      if (hp.etcd_member) urls.insert(hp.etcd_member->client_url);
    if (urls.size() == 1)
      ctx.finding("warning", "etcd-client-url-shared", "etcd_client_url",
                  "etcd_client_url gives every etcd member the same client URL (" + *urls.begin() +
                      "): each advertises it; peer URLs and the initial cluster keep member addresses");
  }
  if (ctx.plan.cluster.etcd_behind_vip)
    for (const auto& a : e.access_addresses) {
      std::string host = a.substr(a.find("://") == std::string::npos ? 0 : a.find("://") + 3);
      host = host[0] == '[' ? host.substr(1, host.find(']') - 1) : host.substr(0, host.rfind(':'));
      const auto& names = e.member_cert_sans.dns;
      const auto& ips = e.member_cert_sans.ip;
      if (std::find(names.begin(), names.end(), host) == names.end() && std::find(ips.begin(), ips.end(), host) == ips.end())
        ctx.finding("warning", "etcd-vip-not-in-cert", is_ipv4_literal(host) || is_ipv6_literal(host) ? "etcd_cert_alt_ips" : "etcd_cert_alt_names",
                    "etcd is reached through '" + host + "' but the member certificates do not name it: clients fail "
                    "TLS verification; add it to " + std::string(is_ipv4_literal(host) || is_ipv6_literal(host) ? "etcd_cert_alt_ips" : "etcd_cert_alt_names"));
    }
  if (s.user_set("etcd_cert_alt_names")) {
    const std::string domain = ctx.str(s, "dns_domain", "cluster.local");
    for (const std::string& d : {"etcd.kube-system.svc." + domain, std::string("etcd.kube-system.svc"),
                                 std::string("etcd.kube-system"), std::string("etcd")})
      if (std::find(e.cert_alt_names.begin(), e.cert_alt_names.end(), d) == e.cert_alt_names.end()) {
        ctx.finding("warning", "etcd-alt-names-replaced", "etcd_cert_alt_names",
                    "etcd_cert_alt_names replaces Kubespray's default list and lacks '" + d +
                        "': keep the four defaults and append your names (as the document's example does)");
        break;
      }
  }

  // Dual stack: IPv6 addresses missing from the apiserver certificate.
  for (const auto& cp : ctx.cps) {
    Scope& cs = ctx.scope(cp);
    if (!ctx.boolean(cs, "ipv4_stack", true) || !ctx.boolean(cs, "ipv6_stack", false)) continue;
    for (const char* var : {"ip6", "access_ip6"})
      if (auto v = ctx.opt_str(cs, var); v && std::find(c.apiserver_sans.begin(), c.apiserver_sans.end(), *v) == c.apiserver_sans.end())
        ctx.finding("warning", "san-missing-ipv6", std::string("hosts.") + cp + "." + var,
                    std::string(var) + " " + *v + " of " + cp + " is not in the apiserver certificate (Kubespray adds "
                    "IPv6 addresses only from the default-route fact in dual stack): add it to supplementary_addresses_in_ssl_keys");
  }

  // Hosts sharing an address (only where the address is known).
  std::map<std::string, std::string> owner;
  for (const auto& h : ctx.inv.host_order()) {
    const auto& a = ctx.addr[h];
    if (a.main_access_ip_assumed) continue;
    auto [it, fresh] = owner.emplace(a.main_access_ip, h);
    if (!fresh)
      ctx.finding("warning", "duplicate-address", "hosts." + h + ".main_access_ip",
                  h + " and " + it->second + " share the address " + a.main_access_ip + ": check ip/access_ip");
  }

  // Values resting on facts that were not gathered.
  for (const auto& [owner_name, fields] : ctx.assumed)
    for (const auto& field : fields) {
      const std::string path = owner_name == "cluster" ? "cluster." + field : "hosts." + owner_name + "." + field;
      const bool names = field == "apiserver_sans" || field == "apiserver_cert_sans" || field == "etc_hosts";
      ctx.finding("warning", "assumed-fact", path,
                  names ? "computed without the ansible_hostname/ansible_fqdn/default-route facts of some hosts "
                          "(Kubespray always has them, so its list holds more names); pass --facts DIR"
                        : "rests on an address Kubespray would take from the ansible_default_ipv4 fact, which was "
                          "not given: its fallback 127.0.0.1 is shown; pass --facts DIR or set ip (and access_ip)");
      if (owner_name != "cluster")
        for (auto& hp : ctx.plan.hosts)
          if (hp.name == owner_name) hp.assumed.insert(field);
    }
}

}  // namespace kha::planner
