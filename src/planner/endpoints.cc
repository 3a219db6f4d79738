// Spec 2.1-2.4 and 3: the apiserver endpoint every host and component uses, the cluster-wide
// endpoints and the localhost load balancer.
#include <algorithm>

#include "common/address.h"
#include "planner/context.h"

namespace kha::planner {

namespace {

std::string strip_scheme(const std::string& u) { return u.rfind("https://", 0) == 0 ? u.substr(8) : u; }

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// 0.0.0.0 or an IPv6 unspecified address other than Kubespray's "::" spelling.
bool is_wildcard_address(const std::string& a) {
  return a == "0.0.0.0" || (is_ipv6_literal(a) && a.find_first_not_of(":0") == std::string::npos);
}

}  // namespace

LbView compute_lb_view(PlanContext& ctx, const std::string& host) {
  Scope& s = ctx.scope(host);
  LbView v;
  v.sp = ctx.port(s, "kube_apiserver_port", 6443);
  v.nsp = ctx.port(s, "loadbalancer_apiserver_port", v.sp);
  v.bind = ctx.str(s, "kube_apiserver_bind_address", "::");
  v.type = ctx.str(s, "loadbalancer_apiserver_type", "nginx");
  auto lb = s.get("loadbalancer_apiserver");
  v.defined = lb.has_value();
  if (lb && lb->is_object()) {
    if (lb->contains("address") && !(*lb)["address"].is_null()) v.address = value_to_text((*lb)["address"]);
    if (lb->contains("port") && !(*lb)["port"].is_null()) {
      s.set_computed("_kha_lb_port", (*lb)["port"], "loadbalancer_apiserver.port");
      const Var* real = s.raw("loadbalancer_apiserver");
      v.port_set = ctx.port(s, "_kha_lb_port", v.sp);
      if (!ctx.input_errors.empty() && ctx.input_errors.back().key == "_kha_lb_port") {
        ctx.input_errors.back().key = "loadbalancer_apiserver.port";
        if (real) ctx.input_errors.back().file = real->source.file, ctx.input_errors.back().line = real->source.line;
      }
    }
    if (v.address && !is_ipv4_literal(*v.address) && !is_ipv6_literal(*v.address))
      ctx.input_error(s, "loadbalancer_apiserver", "address: expected an IP address (the LB's VIP), got '" + *v.address + "'");
  } else if (lb && !lb->is_null()) {
    ctx.input_error(s, "loadbalancer_apiserver", "expected a mapping with address and port, got " + json_text(*lb));
  }
  v.lp = v.port_set.value_or(v.sp);
  s.set_computed("loadbalancer_apiserver_localhost", !v.defined, "true unless loadbalancer_apiserver is defined");
  v.localhost = ctx.boolean(s, "loadbalancer_apiserver_localhost", !v.defined);
  v.name_user_set = s.user_set("apiserver_loadbalancer_domain_name");
  if (v.name_user_set) {
    v.name = ctx.opt_str(s, "apiserver_loadbalancer_domain_name");
  } else if (ctx.legacy()) {
    v.name = "lb-apiserver.kubernetes.local";
  } else if (v.localhost) {
    v.name = "localhost";
  } else if (v.address) {
    v.name = v.address;
  }
  if (v.name && !v.name_user_set)
    s.set_computed("apiserver_loadbalancer_domain_name", *v.name,
                   ctx.legacy() ? "2.28 default" : (v.localhost ? "'localhost' (localhost LB)" : "loadbalancer_apiserver.address"));
  return v;
}

void compute_endpoints(PlanContext& ctx) {
  const std::string& first = ctx.cps.front();
  for (const auto& h : ctx.inv.host_order()) {
    ctx.scope(h).take_trace();
    ctx.lb[h] = compute_lb_view(ctx, h);
    ctx.lb_inputs[h] = ctx.scope(h).take_trace();
  }
  if (!ctx.input_errors.empty()) return;
  const LbView& f = ctx.lb[first];
  const std::string fcpa = ctx.addr[first].main_access_ip;
  ClusterPlan& c = ctx.plan.cluster;

  // Per-host kube_apiserver_endpoint (spec 2.1) and kubeadm_discovery_address (2.3).
  std::map<std::string, std::string> discovery;
  for (const auto& h : ctx.inv.host_order()) {
    const LbView& v = ctx.lb[h];
    const bool cp = contains(ctx.cps, h);
    ctx.begin(h, "kube_apiserver_endpoint");
    ctx.uses_lb_view_of(h);
    std::string e, rule;
    if (v.defined) {
      if (!v.name) {
        ctx.finding("error", "lb-no-address", "loadbalancer_apiserver",
                    "loadbalancer_apiserver is defined without an address and apiserver_loadbalancer_domain_name is "
                    "not set; Kubespray fails at templating (\"Mandatory variable has not been overridden\"): set "
                    "loadbalancer_apiserver.address or apiserver_loadbalancer_domain_name");
        ctx.end("no value: the LB has neither address nor domain name");
        continue;
      }
      e = "https://" + (ctx.legacy() ? *v.name : wrap_ipv6(*v.name)) + ":" + std::to_string(v.lp);
      rule = "loadbalancer_apiserver is defined: https://" + std::string(ctx.legacy() ? "" : "wrap(") +
             "apiserver_loadbalancer_domain_name" + (ctx.legacy() ? "" : ")") + ":lp, lp = loadbalancer_apiserver.port | default(kube_apiserver_port) (kubespray_defaults main.yml:669-690)";
    } else if (!cp && v.localhost) {
      e = "https://localhost:" + std::to_string(v.nsp);
      rule = "not a control plane and loadbalancer_apiserver_localhost: https://localhost:nsp, nsp = loadbalancer_apiserver_port | default(kube_apiserver_port)";
    } else if (cp) {
      e = url(replace_all(v.bind, "::", "127.0.0.1"), v.sp);
      rule = "control plane without loadbalancer_apiserver: https://wrap(B):kube_apiserver_port, B = kube_apiserver_bind_address with every '::' replaced by 127.0.0.1";
    } else {
      ctx.uses_address_of(first, true);
      e = url(fcpa, v.sp);
      rule = "no LB of any kind: https://wrap(first_kube_control_plane_address):kube_apiserver_port";
    }
    ctx.endpoint[h] = e;
    ctx.scope(h).set_computed("kube_apiserver_endpoint", e, "the endpoint rule");
    ctx.end(rule);
    const bool local = e.find("127.0.0.1") != std::string::npos || e.find("localhost") != std::string::npos;
    discovery[h] = local ? wrap_ipv6(fcpa) + ":" + std::to_string(v.sp) : strip_scheme(e);
  }
  if (ctx.plan.has_errors()) return;

  // Cluster-wide values, evaluated as the first control plane sees them.
  c.first_kube_control_plane = first;
  c.first_kube_control_plane_address = fcpa;
  c.loadbalancer_apiserver_localhost = f.localhost;
  c.apiserver_loadbalancer_domain_name = f.name;
  c.apiserver_port = f.sp;
  c.lb_port = f.nsp;
  c.external_lb = f.defined;
  c.external_lb_address = f.address;
  c.external_lb_port = f.lp;
  c.ipv6_stack = ctx.boolean(ctx.scope(first), "ipv6_stack", false);

  ctx.begin("cluster", "kube_apiserver_global_endpoint");

  ctx.uses_lb_view_of(first);
  if (f.defined) {
    c.kube_apiserver_global_endpoint = "https://" + (ctx.legacy() ? *f.name : wrap_ipv6(*f.name)) + ":" + std::to_string(f.lp);
    ctx.end("loadbalancer_apiserver is defined: https://wrap(apiserver_loadbalancer_domain_name):lp");
  } else if (f.localhost && (!ctx.legacy() || f.nsp == f.sp)) {
    c.kube_apiserver_global_endpoint = "https://localhost:" + std::to_string(ctx.legacy() ? f.sp : f.nsp);
    ctx.end(ctx.legacy() ? "2.28: localhost LB and nsp == sp: https://localhost:sp"
                         : "localhost LB: https://localhost:nsp (since PR #12598, v2.30)");
  } else {
    ctx.uses_address_of(first, true);
    c.kube_apiserver_global_endpoint = url(fcpa, f.sp);
    ctx.end(f.localhost ? "2.28: localhost LB with nsp != sp: the first control plane, https://wrap(first_kube_control_plane_address):sp"
                        : "no LB: https://wrap(first_kube_control_plane_address):kube_apiserver_port");
  }

  ctx.begin("cluster", "kubeadm_control_plane_endpoint");

  ctx.uses_lb_view_of(first);
  if (f.defined) {
    c.kubeadm_control_plane_endpoint = *f.name + ":" + std::to_string(f.lp);
    ctx.end("loadbalancer_apiserver is defined: kubeadm_config_api_fqdn:lp, kubeadm_config_api_fqdn = apiserver_loadbalancer_domain_name, NOT bracketed (kubeadm-config.v1beta4.yaml.j2:119-123)");
  } else {
    ctx.uses_address_of(first, false);
    c.kubeadm_control_plane_endpoint = wrap_ipv6(ctx.addr[first].main_ip) + ":" + std::to_string(f.sp);
    ctx.end("no loadbalancer_apiserver: wrap(main_ip of the first control plane):kube_apiserver_port (main_ip, not access ip)");
  }
  const std::string cpe_url = "https://" + c.kubeadm_control_plane_endpoint;
  const bool cpe_assumed = !f.defined && ctx.addr[first].main_ip_assumed;

  // kube-proxy: one ConfigMap, settled on the first host of the k8s_cluster play (spec 2.3).
  const std::string h0 = ctx.k8s_cluster.empty() ? first : ctx.k8s_cluster.front();
  const bool proxy_deployed = !ctx.boolean(ctx.scope(h0), "kube_proxy_remove", false);
  ctx.begin("cluster", "kube_proxy_kubeconfig_server");
  ctx.uses_lb_view_of(first);
  c.kube_proxy_kubeconfig_server = cpe_url;
  std::string proxy_rule = "starts as https://controlPlaneEndpoint";
  bool proxy_assumed = cpe_assumed;
  const LbView& v0 = ctx.lb[h0];
  if (!v0.defined && discovery[h0] != strip_scheme(ctx.endpoint[h0]) && proxy_deployed && v0.localhost) {
    c.kube_proxy_kubeconfig_server = "https://127.0.0.1:" + std::to_string(v0.sp);
    proxy_rule += "; localhost LB and " + h0 + "'s discovery address differs from its endpoint: rewritten to https://127.0.0.1:sp (sp, not nsp)";
    proxy_assumed = false;
  } else if (!v0.defined && v0.localhost) {
    proxy_rule += "; the 127.0.0.1 rewrite is skipped because " + h0 + "'s kube_apiserver_endpoint (" + ctx.endpoint[h0] +
                  ") equals its discovery address (custom kube_apiserver_bind_address)";
  }
  if (v0.defined) {
    c.kube_proxy_kubeconfig_server = ctx.endpoint[h0];
    proxy_rule += "; loadbalancer_apiserver is defined: " + h0 + "'s kube_apiserver_endpoint";
    proxy_assumed = false;
  }
  if (proxy_assumed) ctx.uses_address_of(first, false);
  ctx.end(proxy_rule + " (kubeadm/tasks/main.yml:137-171, evaluated on " + h0 + ")");

  ctx.begin("cluster", "admin_kubeconfig_artifact_server");

  ctx.uses_lb_view_of(first);
  {
    Scope& s = ctx.scope(first);
    std::string a = fcpa, rule;
    if (f.address) {
      a = *f.address;
      rule = "loadbalancer_apiserver.address";
    } else if (ctx.boolean(s, "kubeconfig_localhost_ansible_host", false)) {
      a = ctx.str(s, "ansible_host", first);
      rule = "kubeconfig_localhost_ansible_host: ansible_host of the first control plane";
    } else {
      ctx.uses_address_of(first, true);
      rule = "first_kube_control_plane_address";
    }
    const int p = f.address && f.port_set ? *f.port_set : f.sp;
    c.admin_kubeconfig_artifact_server = url(a, p);
    ctx.end("https://wrap(A):P with A = " + rule + "; P = loadbalancer_apiserver.port only if address and port are both set, else kube_apiserver_port (client/tasks/main.yml:2-21); the LB address, never its name");
  }

  // Localhost LB (spec 3).
  LocalhostLb& l = c.localhost_lb;
  l.type = f.type;
  for (const auto& cp : ctx.cps) {
    c.control_plane_backends.push_back(wrap_ipv6(ctx.addr[cp].main_access_ip) + ":" + std::to_string(f.sp));
    c.control_plane_names.push_back(cp);
  }
  ctx.begin("cluster", "localhost_lb");
  ctx.uses_lb_view_of(first);
  for (const auto& h : ctx.k8s_cluster) {
    const LbView& v = ctx.lb[h];
    if ((!contains(ctx.cps, h) || v.bind != "::") && v.localhost && is_localhost_lb_type(v.type)) {
      l.installed_on.push_back(h);
      if (contains(ctx.cps, h) && is_wildcard_address(v.bind) && v.nsp == v.sp) l.port_taken_on.push_back(h);
    }
  }
  if (!l.installed_on.empty()) {
    l.listen.push_back("127.0.0.1:" + std::to_string(f.nsp));
    if (c.ipv6_stack) l.listen.push_back("[::1]:" + std::to_string(f.nsp));
    l.upstreams = c.control_plane_backends;
    for (const auto& cp : ctx.cps) ctx.uses_address_of(cp, true);
    l.balance = f.type == "nginx" ? "least_conn" : "leastconn";
    if (auto hp = ctx.scope(first).get("loadbalancer_apiserver_healthcheck_port"); hp && !hp->is_null())
    {
      c.healthcheck_port = ctx.port(ctx.scope(first), "loadbalancer_apiserver_healthcheck_port", 8081);
      l.healthz_endpoint = "http://0.0.0.0:" + std::to_string(c.healthcheck_port) + "/healthz";
    }
  }
  ctx.end("installed on hosts of k8s_cluster where (not a control plane or kube_apiserver_bind_address != '::') and "
          "loadbalancer_apiserver_localhost and loadbalancer_apiserver_type is nginx, haproxy or kha (node/tasks/main.yml:27-43, kha: "
          "deploy/ansible); "
          "listens on 127.0.0.1:nsp (+ [::1]:nsp with ipv6_stack); upstreams every control plane's wrap(main_access_ip):sp");

  // Per-host component servers (spec 2.3; legacy: kubeadm-fix-apiserver.yml rewrote CP kubeconfigs).
  for (const auto& h : ctx.inv.host_order()) {
    HostPlan hp;
    hp.name = h;
    ctx.begin(h, "roles");
    for (const char* g : {"kube_control_plane", "kube_node", "etcd", "calico_rr"})
      if (ctx.inv.in_group(h, g)) hp.roles.push_back(g);
    ctx.end("the Kubespray groups the host is in, directly or through [group:children]");
    const auto& a = ctx.addr[h];
    hp.main_ip = a.main_ip;
    hp.main_access_ip = a.main_access_ip;
    if (a.main_ip_assumed) ctx.assumed[h].insert("main_ip");
    if (a.main_access_ip_assumed) ctx.assumed[h].insert("main_access_ip");
    hp.main_access_ip6 = ctx.boolean(ctx.scope(h), "ipv6_stack", false) ? a.access_ipv6 : "";
    hp.is_control_plane = contains(ctx.cps, h);
    hp.in_k8s_cluster = contains(ctx.k8s_cluster, h);
    hp.kube_apiserver_endpoint = ctx.endpoint[h];
    hp.localhost_lb_installed = contains(l.installed_on, h);
    hp.kube_manifest_dir = ctx.str(ctx.scope(h), "kube_manifest_dir", "/etc/kubernetes/manifests");
    ctx.begin(h, "localhost_lb_installed");
    ctx.uses_lb_view_of(h);
    ctx.end("in k8s_cluster, and not a control plane or kube_apiserver_bind_address != '::', and "
            "loadbalancer_apiserver_localhost, and loadbalancer_apiserver_type nginx, haproxy or kha (node/tasks/main.yml:27-43)");
    const LbView& v = ctx.lb[h];
    if (hp.in_k8s_cluster) {
      ctx.begin(h, "kube_proxy_server");
      ctx.uses_lb_view_of(h);
      hp.kube_proxy_server = c.kube_proxy_kubeconfig_server;
      if (ctx.assumed["cluster"].count("kube_proxy_kubeconfig_server")) ctx.uses_address_of(first, false);
      ctx.end("kube-proxy has one kubeconfig for every node: cluster.kube_proxy_kubeconfig_server");
    }
    const std::string own = url(a.main_ip, v.sp);
    if (hp.is_control_plane) {
      const bool is_first = h == first;
      ctx.begin(h, "kubelet_kubeconfig_server");
      ctx.uses_lb_view_of(h);
      if (ctx.legacy()) {
        hp.kubelet_kubeconfig_server = ctx.endpoint[h];
        ctx.end("2.28: kubeadm-fix-apiserver.yml rewrote kubelet.conf to the host's kube_apiserver_endpoint");
      } else if (is_first) {
        if (cpe_assumed) ctx.uses_address_of(first, false);
        hp.kubelet_kubeconfig_server = cpe_url;
        ctx.end("first control plane: [kubeadm] controlPlaneEndpoint (Kubespray no longer rewrites it: PR #12870, v2.31)");
      } else {
        ctx.uses_address_of(h, false);
        hp.kubelet_kubeconfig_server = own;
        ctx.end("joined control plane: [kubeadm] its own localAPIEndpoint https://wrap(main_ip):sp (ControlPlaneKubeletLocalMode)");
      }
      for (const char* field : {"controller_manager_server", "scheduler_server"}) {
        ctx.begin(h, field);
        ctx.uses_lb_view_of(h);
        auto& slot = std::string(field) == "scheduler_server" ? hp.scheduler_server : hp.controller_manager_server;
        if (ctx.legacy()) {
          slot = ctx.endpoint[h];
          ctx.end("2.28: kubeadm-fix-apiserver.yml rewrote the component kubeconfig to the host's kube_apiserver_endpoint");
        } else {
          ctx.uses_address_of(h, false);
          slot = own;
          ctx.end("[kubeadm] localAPIEndpoint of this control plane: https://wrap(main_ip):kube_apiserver_port");
        }
      }
      ctx.begin(h, "admin_conf_server");
      ctx.uses_lb_view_of(h);
      if (ctx.legacy()) {
        hp.admin_conf_server = ctx.endpoint[h];
        ctx.end("2.28: kubeadm-fix-apiserver.yml rewrote admin.conf to the host's kube_apiserver_endpoint");
      } else {
        if (cpe_assumed) ctx.uses_address_of(first, false);
        hp.admin_conf_server = cpe_url;
        ctx.end("[kubeadm] admin.conf on every control plane: https://controlPlaneEndpoint");
      }
      ctx.begin(h, "kubeadm_join_discovery_endpoint");
      ctx.uses_lb_view_of(h);
      if (is_first) {
        ctx.end("the first control plane runs kubeadm init: no join");
      } else {
        hp.kubeadm_join_discovery_endpoint = v.defined ? c.kubeadm_control_plane_endpoint : discovery[h];
        if (!v.defined && discovery[h].rfind(wrap_ipv6(fcpa) + ":", 0) == 0) ctx.uses_address_of(first, true);
        ctx.end(v.defined ? "control-plane join with loadbalancer_apiserver: kubeadm_config_api_fqdn:lp (kubeadm-controlplane.yaml.j2:9-13)"
                          : "control-plane join: kubeadm_discovery_address = wrap(first_kube_control_plane_address):sp if the "
                            "endpoint has 127.0.0.1/localhost, else the endpoint without https:// (kubeadm-secondary.yml:2-10)");
      }
    } else if (hp.in_k8s_cluster) {
      const bool rewrite = discovery[h] != strip_scheme(ctx.endpoint[h]) || v.defined;
      ctx.begin(h, "kubelet_kubeconfig_server");
      ctx.uses_lb_view_of(h);
      if (rewrite) {
        hp.kubelet_kubeconfig_server = ctx.endpoint[h];
        if (ctx.assumed[h].count("kube_apiserver_endpoint")) ctx.uses_address_of(first, true);
        ctx.end("worker: kubeadm join writes controlPlaneEndpoint, then Kubespray rewrites server: to the host's "
                "kube_apiserver_endpoint because the discovery address differs from it or an LB is defined (kubeadm/tasks/main.yml:103-124)");
      } else {
        if (cpe_assumed) ctx.uses_address_of(first, false);
        hp.kubelet_kubeconfig_server = cpe_url;
        ctx.end("worker without any LB: no rewrite, kubelet.conf keeps https://controlPlaneEndpoint (first control plane main_ip)");
      }
      ctx.begin(h, "kubeadm_join_discovery_endpoint");
      ctx.uses_lb_view_of(h);
      hp.kubeadm_join_discovery_endpoint = discovery[h];
      if (discovery[h].rfind(wrap_ipv6(fcpa) + ":", 0) == 0) ctx.uses_address_of(first, true);
      const bool file = ctx.boolean(ctx.scope(h), "kubeadm_use_file_discovery", false);
      ctx.end(std::string("worker join: kubeadm_discovery_address (kubeadm-client.conf.j2:5-14)") +
              (file ? "; kubeadm_use_file_discovery is on: kubeadm reads it from a discovery kubeconfig file" : ""));
    }
    ctx.plan.hosts.push_back(std::move(hp));
  }
}

}  // namespace kha::planner
