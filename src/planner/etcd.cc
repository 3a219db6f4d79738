// Spec 1.3, 5 (etcd certificates) and 9: how etcd is reached, member URLs and certificates;
// spec 4: the /etc/hosts lines of the legacy (2.28) behaviour.
#include <set>
#include <sstream>

#include "common/address.h"
#include "planner/context.h"

namespace kha::planner {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The host part of "https://host:port" (brackets removed); "" when it has none.
std::string url_host(const std::string& u) {
  std::string rest = u.substr(u.find("://") == std::string::npos ? 0 : u.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest[0] == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.rfind(':'));
}

bool host_var_set(const Inventory& inv, const std::string& host, const std::string& name) {
  const Host* h = inv.find_host(host);
  return h && (h->vars.count(name) || h->file_vars.count(name));
}

}  // namespace

void compute_etcd(PlanContext& ctx) {
  ctx.etcd_hosts = ctx.etcd_group.empty() ? ctx.cps : ctx.etcd_group;
  const std::string& first = ctx.cps.front();
  Scope& s = ctx.scope(first);
  EtcdPlan& e = ctx.plan.cluster.etcd;
  const std::string type = ctx.str(s, "etcd_deployment_type", "host");

  std::vector<std::string> member_access;
  for (const auto& h : ctx.etcd_hosts) member_access.push_back(url(ctx.addr[h].main_access_ip, 2379));
  ctx.begin("cluster", "etcd");
  const bool overridden = s.user_set("etcd_access_addresses");
  const std::string access = overridden ? ctx.str(s, "etcd_access_addresses") : join(member_access, ",");
  if (!overridden)
    for (const auto& h : ctx.etcd_hosts) ctx.uses_address_of(h, true);
  e.access_addresses = split_commas(access);
  e.apiserver_etcd_servers = type == "kubeadm" ? "https://127.0.0.1:2379" : access;
  e.cert_alt_names = ctx.str_list(s, "etcd_cert_alt_names");
  e.cert_alt_ips = ctx.str_list(s, "etcd_cert_alt_ips");
  std::set<std::string> members_hosts;
  for (const auto& h : ctx.etcd_hosts) members_hosts.insert(ctx.addr[h].main_access_ip);
  for (const auto& a : e.access_addresses)
    if (!members_hosts.count(url_host(a))) ctx.plan.cluster.etcd_behind_vip = true;
  for (const auto& h : ctx.etcd_hosts)
    ctx.plan.cluster.etcd_member_client_backends.push_back(wrap_ipv6(ctx.addr[h].main_access_ip) + ":2379");

  // Member certificates (roles/etcd/templates/openssl.conf.j2:25-50).
  e.member_cert_sans.dns.push_back("localhost");
  for (const auto& h : ctx.etcd_hosts) {
    if (host_var_set(ctx.inv, h, "etcd_access_address")) {
      const std::string a = ctx.str(ctx.scope(h), "etcd_access_address");
      if (!is_ipv4_literal(a) && !is_ipv6_literal(a) && !a.empty()) e.member_cert_sans.dns.push_back(a);
    }
    e.member_cert_sans.dns.push_back(h);
  }
  for (const auto& n : e.cert_alt_names) e.member_cert_sans.dns.push_back(n);
  for (const auto& h : ctx.etcd_hosts) {
    for (const auto& a : ctx.addr[h].main_access_ips) e.member_cert_sans.ip.push_back(a);
    for (const auto& a : ctx.addr[h].main_ips) e.member_cert_sans.ip.push_back(a);
  }
  for (const auto& a : e.cert_alt_ips) e.member_cert_sans.ip.push_back(a);
  e.member_cert_sans.ip.push_back("127.0.0.1");
  e.member_cert_sans.ip.push_back("::1");

  // Initial cluster: over groups['etcd'], etcd_member_name or etcdN.
  std::vector<std::string> peers;
  for (std::size_t i = 0; i < ctx.etcd_group.size(); ++i) {
    const std::string& h = ctx.etcd_group[i];
    const std::string name = ctx.str(ctx.scope(h), "etcd_member_name", "etcd" + std::to_string(i + 1));
    peers.push_back(name + "=" + url(ctx.addr[h].main_access_ip, 2380));
  }
  e.initial_cluster = join(peers, ",");
  ctx.end(std::string("etcd_access_addresses ") +
          (overridden ? "as set" : "= https://wrap(main_access_ip):2379 of every etcd host, comma-joined") +
          "; apiserver --etcd-servers = " + (type == "kubeadm" ? "the stacked local etcd" : "etcd_access_addresses") +
          "; member certificates: localhost, etcd_access_address names (host vars), inventory names, "
          "etcd_cert_alt_names; IPs: main_access_ips, main_ips, etcd_cert_alt_ips, 127.0.0.1, ::1; initial cluster "
          "<etcd_member_name or etcdN>=https://wrap(main_access_ip):2380 over groups['etcd']");

  for (auto& hp : ctx.plan.hosts) {
    bool member = false;
    for (const auto& h : ctx.etcd_hosts) member = member || h == hp.name;
    if (!member) continue;
    Scope& hs = ctx.scope(hp.name);
    ctx.begin(hp.name, "etcd_member");
    const std::string address = s.user_set("etcd_address") || hs.user_set("etcd_address") ? ctx.str(hs, "etcd_address") : hp.main_ip;
    const std::string access_addr = hs.user_set("etcd_access_address") ? ctx.str(hs, "etcd_access_address") : hp.main_access_ip;
    ctx.uses_address_of(hp.name, true);
    EtcdMember m;
    m.client_url = hs.user_set("etcd_client_url") ? ctx.str(hs, "etcd_client_url") : url(access_addr, 2379);
    m.peer_url = hs.user_set("etcd_peer_url") ? ctx.str(hs, "etcd_peer_url") : url(access_addr, 2380);
    m.listen_client_urls = {url(address, 2379), "https://127.0.0.1:2379"};
    m.listen_peer_urls = {url(address, 2380)};
    hp.etcd_member = m;
    ctx.end("client/peer URL = etcd_client_url / etcd_peer_url if set, else https://wrap(etcd_access_address):2379/2380 "
            "(etcd_access_address = main_access_ip); listen = https://wrap(etcd_address):2379 and https://127.0.0.1:2379, "
            "peer https://wrap(etcd_address):2380 (etcd.env.j2:13-17)");
  }
}

void compute_etc_hosts(PlanContext& ctx) {
  if (!ctx.legacy()) {
    for (auto& hp : ctx.plan.hosts) {
      ctx.begin(hp.name, "etc_hosts");
      ctx.end("Kubespray 2.29+ writes nothing to /etc/hosts (PR #12382): names must resolve through DNS");
    }
    return;
  }
  std::vector<std::string> members;
  std::set<std::string> seen;
  for (const auto* group : {&ctx.k8s_cluster, &ctx.etcd_group, &ctx.calico_rr})
    for (const auto& h : *group)
      if (seen.insert(h).second) members.push_back(h);
  for (auto& hp : ctx.plan.hosts) {
    if (!seen.count(hp.name)) continue;
    Scope& s = ctx.scope(hp.name);
    ctx.begin(hp.name, "etc_hosts");
    const std::string domain = ctx.str(s, "dns_domain", "cluster.local");
    if (ctx.boolean(s, "populate_inventory_to_hosts_file", true)) {
      hp.etc_hosts.push_back("# Ansible inventory hosts BEGIN");
      for (const auto& h : members) {
        Scope& hs = ctx.scope(h);
        const std::string name = ctx.str(hs, "ansible_hostname", h);
        if (!hs.get("ansible_hostname")) ctx.assumed[hp.name].insert("etc_hosts");
        ctx.uses_address_of(h, true);
        hp.etc_hosts.push_back(ctx.addr[h].main_access_ip + " " + name + "." + domain + " " + name);
        if (ctx.boolean(hs, "ipv4_stack", true) && ctx.boolean(hs, "ipv6_stack", false)) {
          const std::string v6 = ctx.addr[h].access_ipv6;
          if (!v6.empty() && v6 != "::1") hp.etc_hosts.push_back(v6 + " " + name + "." + domain + " " + name);
        }
      }
      hp.etc_hosts.push_back("# Ansible inventory hosts END");
    }
    const LbView& v = ctx.lb[hp.name];
    if (v.address && v.name && ctx.boolean(s, "populate_loadbalancer_apiserver_to_hosts_file", true))
      hp.etc_hosts.push_back(*v.address + " " + *v.name);
    ctx.end("2.28 (preinstall/tasks/0090-etchosts.yml), on every host of k8s_cluster and etcd: the inventory block "
            "<main_access_ip> <hostname>.<dns_domain> <hostname> per host (populate_inventory_to_hosts_file), then "
            "<loadbalancer_apiserver.address> <apiserver_loadbalancer_domain_name> when the LB has an address");
  }
}

}  // namespace kha::planner
