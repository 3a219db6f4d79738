// Spec 1.1: per-host addresses from ip/access_ip/ip6/access_ip6, the default-route facts and
// Kubespray's fallbacks (127.0.0.1, ::1), with whether each value rests on an assumed fact.
#include "common/address.h"
#include "planner/context.h"

namespace kha::planner {

namespace {

struct Pick {
  std::string value;
  bool assumed = false;
  std::string how;
};

// `var` if set (must be an address of the family), else the fact's address, else `fallback`.
Pick pick(PlanContext& ctx, Scope& s, const std::string& var, const std::string& fact, const std::string& fallback,
          bool v6) {
  if (auto v = ctx.opt_str(s, var)) {
    if (v6 ? !is_ipv6_literal(*v) : !is_ipv4_literal(*v))
      ctx.input_error(s, var, std::string("expected an IPv") + (v6 ? "6" : "4") + " address, got '" + *v + "'");
    return {*v, false, var + " (" + s.raw(var)->source.to_string() + ")"};
  }
  if (auto f = s.get(fact); f && f->is_object() && f->contains("address") && (*f)["address"].is_string()) {
    const std::string a = (*f)["address"].get<std::string>();
    if (v6 ? !is_ipv6_literal(a) : !is_ipv4_literal(a))
      ctx.input_error(s, fact, std::string("expected an IPv") + (v6 ? "6" : "4") + " address in the fact, got '" + a + "'");
    return {a, false, fact + ".address (" + s.raw(fact)->source.to_string() + ")"};
  }
  return {fallback, true, "assumed " + fallback + ": no " + var + " and no " + fact + " fact (Kubespray's fallback)"};
}

}  // namespace

void compute_addresses(PlanContext& ctx) {
  for (const auto& host : ctx.inv.host_order()) {
    Scope& s = ctx.scope(host);
    const bool v4 = ctx.boolean(s, "ipv4_stack", true);
    const bool v6 = ctx.boolean(s, "ipv6_stack", false);
    HostAddresses a;
    const Pick ip4 = pick(ctx, s, "ip", "ansible_default_ipv4", "127.0.0.1", false);
    Pick acc4 = ip4;
    if (auto v = ctx.opt_str(s, "access_ip")) {
      if (!is_ipv4_literal(*v)) ctx.input_error(s, "access_ip", "expected an IPv4 address, got '" + *v + "'");
      acc4 = {*v, false, "access_ip (" + s.raw("access_ip")->source.to_string() + ")"};
    } else {
      acc4.how = "no access_ip: the node IP, " + ip4.how;
    }
    const Pick ip6 = pick(ctx, s, "ip6", "ansible_default_ipv6", "::1", true);
    Pick acc6 = ip6;
    if (auto v = ctx.opt_str(s, "access_ip6")) {
      if (!is_ipv6_literal(*v)) ctx.input_error(s, "access_ip6", "expected an IPv6 address, got '" + *v + "'");
      acc6 = {*v, false, "access_ip6 (" + s.raw("access_ip6")->source.to_string() + ")"};
    }
    a.ipv4 = ip4.value;
    a.access_ipv4 = acc4.value;
    a.ipv6 = ip6.value;
    a.access_ipv6 = acc6.value;
    const Pick& mi = v4 ? ip4 : ip6;
    const Pick& mai = v4 ? acc4 : acc6;
    a.main_ip = mi.value;
    a.main_access_ip = mai.value;
    a.main_ip_assumed = mi.assumed;
    a.main_access_ip_assumed = mai.assumed;
    a.how_main_ip = mi.how;
    a.how_main_access_ip = mai.how;
    if (v4) a.main_ips.push_back(ip4.value), a.main_access_ips.push_back(acc4.value);
    if (v6) a.main_ips.push_back(ip6.value), a.main_access_ips.push_back(acc6.value);
    ctx.begin(host, "main_ip");
    ctx.note(v4 ? "ip" : "ip6", a.main_ip, a.how_main_ip);
    ctx.end(std::string(v4 ? "ipv4_stack: ip" : "IPv6 only: ip6") + " if set, else the default-route fact's address, else " +
            (v4 ? "127.0.0.1" : "::1") + " (roles/network_facts/tasks/main.yaml:2-31)");
    ctx.begin(host, "main_access_ip");
    ctx.note(v4 ? "access_ip" : "access_ip6", a.main_access_ip, a.how_main_access_ip);
    ctx.end(std::string(v4 ? "access_ip" : "access_ip6") + " if set, else the node IP (main_ip)");
    s.set_computed("main_ip", a.main_ip, a.how_main_ip);
    s.set_computed("main_access_ip", a.main_access_ip, a.how_main_access_ip);
    ctx.addr[host] = std::move(a);
  }
  const std::string& first = ctx.cps.front();
  for (const auto& host : ctx.inv.host_order()) {
    Scope& s = ctx.scope(host);
    s.set_computed("first_kube_control_plane", first, "first host of kube_control_plane");
    s.set_computed("first_kube_control_plane_address", ctx.addr[first].main_access_ip, "main_access_ip of " + first);
    s.set_computed("kube_apiserver_address", ctx.addr[host].main_ip, "main_ip");
    s.set_computed("kube_apiserver_access_address", ctx.addr[host].main_access_ip, "main_access_ip");
    s.set_computed("etcd_address", ctx.addr[host].main_ip, "main_ip");
    s.set_computed("etcd_access_address", ctx.addr[host].main_access_ip, "main_access_ip");
  }
}

}  // namespace kha::planner
