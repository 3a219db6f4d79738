// Test helpers: an inventory from INI text plus group_vars/all YAML, planned in memory.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "planner/inventory_parser.h"
#include "planner/plan.h"

namespace kha::planner::testing {

// Three control planes (cp1 with a distinct access_ip) running etcd, two workers.
inline const char* kBaseIni = R"([kube_control_plane]
cp1 ip=10.0.0.1 access_ip=192.168.0.1
cp2 ip=10.0.0.2
cp3 ip=10.0.0.3

[etcd:children]
kube_control_plane

[kube_node]
w1 ip=10.0.0.11
w2 ip=10.0.0.12

[k8s_cluster:children]
kube_control_plane
kube_node
)";

inline Inventory make_inventory(const std::string& ini, const std::string& all_vars = "") {
  Inventory inv;
  auto errors = parse_ini_inventory(ini, "inventory.ini", &inv);
  EXPECT_TRUE(errors.empty()) << format_diagnostics(errors);
  if (!all_vars.empty()) {
    auto vars = parse_vars_yaml(all_vars, "group_vars/all.yml", "group_vars/all");
    EXPECT_TRUE(vars.ok()) << (vars.ok() ? "" : format_diagnostics(vars.errors()));
    if (vars.ok()) inv.groups().at("all").file_vars = vars.value();
  }
  return inv;
}

struct Planned {
  Inventory inventory;
  Result<Plan> result = Diagnostics{};
  const Plan& plan() const { return result.value(); }
  const HostPlan& host(const std::string& name) const {
    const HostPlan* h = plan().find_host(name);
    EXPECT_NE(h, nullptr) << name;
    return *h;
  }
  const ClusterPlan& cluster() const { return plan().cluster; }
  bool has_finding(const std::string& code) const {
    for (const auto& f : plan().findings)
      if (f.code == code) return true;
    return false;
  }
  std::string severity(const std::string& code) const {
    for (const auto& f : plan().findings)
      if (f.code == code) return f.severity;
    return "";
  }
};

inline std::unique_ptr<Planned> run(const std::string& ini, const std::string& all_vars = "",
                                    KubesprayVersion version = KubesprayVersion::V2_31,
                                    std::map<std::string, Facts> facts = {}) {
  auto p = std::make_unique<Planned>();
  p->inventory = make_inventory(ini, all_vars);
  PlanInput in;
  in.inventory = &p->inventory;
  in.version = version;
  in.facts = std::move(facts);
  in.facts_given = !in.facts.empty();
  p->result = plan(in);
  EXPECT_TRUE(p->result.ok()) << (p->result.ok() ? "" : format_diagnostics(p->result.errors()));
  return p;
}

inline std::string opt(const std::optional<std::string>& v) { return v.value_or("(null)"); }

}  // namespace kha::planner::testing
