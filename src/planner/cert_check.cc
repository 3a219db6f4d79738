// check-certs logic (see cert_check.h): targets and dialed names from the plan, SAN
// matching, and the report. Pure.
#include "planner/cert_check.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <sstream>

namespace kha::planner {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// One spelling per name: canonical IP text, lower-case DNS name without a trailing dot.
std::string normalize(const std::string& name) {
  if (auto ip = canonical_ip(name)) return *ip;
  std::string n = lower(name);
  if (!n.empty() && n.back() == '.') n.pop_back();
  return n;
}

// The node-local names: dialed on every node (or every control plane), each reaching its own
// node's LB or apiserver, so every target needs them, even when one host's address fell back
// to 127.0.0.1.
bool is_loopback(const std::string& name) { return name == "localhost" || name == "::1" || name == "127.0.0.1"; }

// The host of "https://host:port/path", "[v6]:port" or "host:port"; nullopt when it cannot
// be split (an unbracketed IPv6 literal with a port: nobody can dial it either).
std::optional<HostPort> endpoint_of(std::string text) {
  if (const auto scheme = text.find("://"); scheme != std::string::npos) text = text.substr(scheme + 3);
  if (const auto slash = text.find('/'); slash != std::string::npos) text = text.substr(0, slash);
  auto hp = parse_host_port(text);
  if (hp) hp->host = normalize(hp->host);
  return hp;
}

// Builds the names of every target: add(name, who) routes a dialed name to the target it
// reaches (its own address or inventory name) or to all targets of the component.
class Targets {
 public:
  explicit Targets(std::vector<CertTarget>* out) : out_(out) {}

  void own(std::size_t index, const std::string& key) { owner_[key].push_back(index); }

  // from_host: the host whose component dials (null for cluster-wide values). A loopback
  // name dialed on a host that serves the component itself (and runs no localhost LB there)
  // reaches that host's own server; dialed elsewhere it goes through the localhost LB to any.
  void add(const std::string& component, const std::string& raw, const std::string& who,
           const HostPlan* from_host = nullptr) {
    if (raw.empty()) return;
    const std::string name = normalize(raw);
    std::vector<std::size_t> reach;
    if (is_loopback(name) && from_host && !from_host->localhost_lb_installed) {
      for (std::size_t i = 0; i < out_->size(); ++i)
        if ((*out_)[i].component == component && (*out_)[i].host == from_host->name) reach.push_back(i);
    } else if (auto it = owner_.find(component + "/" + name); it != owner_.end() && !is_loopback(name)) {
      reach = it->second;
    }
    if (reach.empty())
      for (std::size_t i = 0; i < out_->size(); ++i)
        if ((*out_)[i].component == component) reach.push_back(i);
    for (std::size_t i : reach) add_to((*out_)[i], name, who);
  }

  void add_url(const std::string& component, const std::string& url, const std::string& who,
               const HostPlan* from_host = nullptr) {
    if (auto hp = endpoint_of(url)) add(component, hp->host, who, from_host);
  }

 private:
  static void add_to(CertTarget& t, const std::string& name, const std::string& who) {
    auto it = std::find_if(t.names.begin(), t.names.end(), [&](const DialedName& d) { return d.name == name; });
    if (it == t.names.end()) it = t.names.insert(t.names.end(), DialedName{name, {}});
    if (std::find(it->dialed_by.begin(), it->dialed_by.end(), who) == it->dialed_by.end()) it->dialed_by.push_back(who);
  }

  std::vector<CertTarget>* out_;
  std::map<std::string, std::vector<std::size_t>> owner_;  // "component/name" -> targets it is the own name of
};

bool dns_covers(const std::string& san_raw, const std::string& name) {
  const std::string san = normalize(san_raw);
  if (san == name) return true;
  if (san.size() < 3 || san.compare(0, 2, "*.") != 0) return false;
  const auto dot = name.find('.');
  // The star stands for one whole, non-empty label.
  return dot != std::string::npos && dot > 0 && name.substr(dot) == san.substr(1);
}

}  // namespace

std::vector<CertTarget> cert_targets(const Plan& plan) {
  std::vector<CertTarget> out;
  const ClusterPlan& c = plan.cluster;
  for (const auto& h : plan.hosts)
    if (h.is_control_plane && !h.main_access_ip.empty())
      out.push_back({"apiserver", h.name, HostPort{normalize(h.main_access_ip), static_cast<std::uint16_t>(c.apiserver_port)}, {}});
  for (const auto& h : plan.hosts)
    if (h.etcd_member)
      if (auto hp = endpoint_of(h.etcd_member->client_url)) out.push_back({"etcd", h.name, *hp, {}});

  Targets t(&out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const HostPlan* h = plan.find_host(out[i].host);
    t.own(i, out[i].component + "/" + normalize(h->name));
    t.own(i, out[i].component + "/" + normalize(h->main_access_ip));
    if (!h->main_ip.empty()) t.own(i, out[i].component + "/" + normalize(h->main_ip));
    t.own(i, out[i].component + "/" + out[i].address.host);
  }

  // The apiservers: every endpoint a component is configured with, the LB upstreams, the
  // localhost LB's listen addresses (clients on the node dial them; TLS passes through),
  // the external LB and the kube-vip address.
  for (const auto& h : plan.hosts) {
    const std::pair<const char*, const std::optional<std::string>*> fields[] = {
        {"kube_apiserver_endpoint", &h.kube_apiserver_endpoint},
        {"kubelet_kubeconfig_server", &h.kubelet_kubeconfig_server},
        {"kube_proxy_server", &h.kube_proxy_server},
        {"controller_manager_server", &h.controller_manager_server},
        {"scheduler_server", &h.scheduler_server},
        {"admin_conf_server", &h.admin_conf_server},
        {"kubeadm_join_discovery_endpoint", &h.kubeadm_join_discovery_endpoint}};
    for (const auto& [field, value] : fields)
      if (*value) t.add_url("apiserver", **value, h.name + " " + field, &h);
  }
  t.add_url("apiserver", c.kube_apiserver_global_endpoint, "cluster kube_apiserver_global_endpoint");
  t.add_url("apiserver", c.kubeadm_control_plane_endpoint, "cluster kubeadm_control_plane_endpoint");
  t.add_url("apiserver", c.kube_proxy_kubeconfig_server, "cluster kube_proxy_kubeconfig_server");
  t.add_url("apiserver", c.admin_kubeconfig_artifact_server, "cluster admin_kubeconfig_artifact_server");
  if (!c.localhost_lb.installed_on.empty()) {
    for (const auto& u : c.localhost_lb.upstreams) t.add_url("apiserver", u, "localhost LB upstream " + u);
    for (const auto& l : c.localhost_lb.listen) t.add_url("apiserver", l, "localhost LB listen " + l);
  }
  if (c.apiserver_loadbalancer_domain_name)
    t.add("apiserver", *c.apiserver_loadbalancer_domain_name, "apiserver_loadbalancer_domain_name");
  if (c.external_lb_address) t.add("apiserver", *c.external_lb_address, "loadbalancer_apiserver.address");
  if (c.kube_vip_address) t.add("apiserver", *c.kube_vip_address, "kube_vip_address");

  // etcd: the apiservers' --etcd-servers, the members' client and peer URLs (one member
  // certificate serves both) and the loopback client listener.
  for (const auto& a : c.etcd.access_addresses) t.add_url("etcd", a, "etcd_access_addresses " + a);
  for (const auto& h : plan.hosts) {
    if (!h.etcd_member) continue;
    t.add_url("etcd", h.etcd_member->client_url, h.name + " etcd_client_url");
    t.add_url("etcd", h.etcd_member->peer_url, h.name + " etcd_peer_url");
    for (const auto& l : h.etcd_member->listen_client_urls)
      if (auto hp = endpoint_of(l); hp && is_loopback(hp->host))
        t.add("etcd", hp->host, h.name + " etcd listen " + l, &h);
  }
  return out;
}

bool san_covers(const SanSet& sans, const std::string& raw) {
  const std::string name = normalize(raw);
  if (canonical_ip(name)) {
    return std::any_of(sans.ip.begin(), sans.ip.end(), [&](const std::string& s) { return normalize(s) == name; });
  }
  return std::any_of(sans.dns.begin(), sans.dns.end(), [&](const std::string& s) { return dns_covers(s, name); });
}

CertCheck judge(CertTarget target, SanSet sans, std::string subject) {
  CertCheck c{std::move(target), true, "", std::move(subject), std::move(sans), {}};
  for (const auto& n : c.target.names)
    if (!san_covers(c.sans, n.name)) c.missing.push_back(n);
  return c;
}

CertCheck unreachable(CertTarget target, std::string error) {
  return CertCheck{std::move(target), false, std::move(error), "", {}, {}};
}

bool all_covered(const std::vector<CertCheck>& checks) {
  return std::all_of(checks.begin(), checks.end(), [](const CertCheck& c) { return c.fetched && c.missing.empty(); });
}

std::string cert_checks_to_text(const std::vector<CertCheck>& checks) {
  std::ostringstream out;
  std::size_t bad = 0, failed = 0;
  for (const auto& c : checks) {
    out << c.target.component << " " << c.target.host << " " << c.target.address.to_string() << ": ";
    if (!c.fetched) {
      ++failed;
      out << "UNREACHABLE: " << c.error << "\n";
      continue;
    }
    if (c.missing.empty()) {
      out << "ok, covers all " << c.target.names.size() << " dialed names\n";
      continue;
    }
    ++bad;
    out << "MISSING " << c.missing.size() << " of " << c.target.names.size() << " dialed names (certificate "
        << c.subject << ")\n";
    for (const auto& m : c.missing) {
      out << "  " << m.name << "  dialed by ";
      for (std::size_t i = 0; i < m.dialed_by.size() && i < 3; ++i) out << (i ? ", " : "") << m.dialed_by[i];
      if (m.dialed_by.size() > 3) out << " and " << m.dialed_by.size() - 3 << " more";
      out << "\n";
    }
  }
  out << checks.size() << " endpoints: " << checks.size() - bad - failed << " ok, " << bad << " missing names, " << failed
      << " unreachable\n";
  return out.str();
}

nlohmann::ordered_json cert_checks_to_json(const std::vector<CertCheck>& checks) {
  using Json = nlohmann::ordered_json;
  Json endpoints = Json::array();
  for (const auto& c : checks) {
    Json missing = Json::array();
    for (const auto& m : c.missing) missing.push_back(Json{{"name", m.name}, {"dialed_by", m.dialed_by}});
    Json dialed = Json::array();
    for (const auto& n : c.target.names) dialed.push_back(n.name);
    Json e{{"component", c.target.component}, {"host", c.target.host}, {"address", c.target.address.to_string()},
           {"status", !c.fetched ? "unreachable" : c.missing.empty() ? "ok" : "missing"}, {"dialed", dialed}};
    if (c.fetched) {
      e["subject"] = c.subject;
      e["sans"] = Json{{"dns", c.sans.dns}, {"ip", c.sans.ip}};
      e["missing"] = missing;
    } else {
      e["error"] = c.error;
    }
    endpoints.push_back(std::move(e));
  }
  return Json{{"ok", all_covered(checks)}, {"endpoints", std::move(endpoints)}};
}

}  // namespace kha::planner
