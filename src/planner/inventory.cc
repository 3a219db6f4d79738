// Inventory: groups, hosts, children and depths; membership queries; host-name and group-cycle checks.
#include "planner/inventory.h"

#include <algorithm>
#include <functional>
#include <set>

namespace kha::planner {

std::string host_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name == ".") return "is \".\"";
  if (name.find("..") != std::string_view::npos) return "contains \"..\"";
  if (name.find('/') != std::string_view::npos) return "contains '/'";
  for (const char c : name) {
    if (c == '\0') return "contains a NUL byte";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  }
  return "";
}

Inventory::Inventory() {
  groups_["all"] = Group{"all", Source{"", 0, "implicit"}, {}, {}, {}, {}, 0};
  groups_["ungrouped"] = Group{"ungrouped", Source{"", 0, "implicit"}, {}, {}, {}, {}, 1};
  groups_["all"].children.push_back("ungrouped");
  group_order_ = {"all", "ungrouped"};
}

Group& Inventory::group(const std::string& name, const Source& source) {
  auto it = groups_.find(name);
  if (it != groups_.end()) {
    if (it->second.source.file.empty() && it->second.source.layer != "implicit") it->second.source = source;
    return it->second;
  }
  Group g;
  g.name = name;
  g.source = source;
  g.depth = 1;
  group_order_.push_back(name);
  auto& ref = groups_[name] = std::move(g);
  groups_["all"].children.push_back(name);
  return ref;
}

Host& Inventory::host(const std::string& name, const Source& source) {
  auto it = hosts_.find(name);
  if (it != hosts_.end()) return it->second;
  host_order_.push_back(name);
  Host h;
  h.name = name;
  h.source = source;
  return hosts_[name] = std::move(h);
}

bool Inventory::add_member(const std::string& group_name, const std::string& host_name) {
  auto& members = groups_.at(group_name).hosts;
  if (std::find(members.begin(), members.end(), host_name) != members.end()) return false;
  members.push_back(host_name);
  return true;
}

bool Inventory::add_child(const std::string& parent, const std::string& child) {
  auto& kids = groups_.at(parent).children;
  if (std::find(kids.begin(), kids.end(), child) != kids.end()) return false;
  kids.push_back(child);
  fix_depths();
  return true;
}

void Inventory::fix_depths() {
  // Depth = longest path from `all`, bounded so that a cycle cannot loop forever.
  for (auto& [name, g] : groups_) g.depth = name == "all" ? 0 : 1;
  const int limit = static_cast<int>(groups_.size()) + 1;
  bool changed = true;
  for (int round = 0; changed && round < limit; ++round) {
    changed = false;
    for (auto& [name, g] : groups_)
      for (const auto& kid : g.children) {
        auto& k = groups_.at(kid);
        if (kid != "all" && k.depth < g.depth + 1 && g.depth + 1 <= limit) {
          k.depth = g.depth + 1;
          changed = true;
        }
      }
  }
}

const Group* Inventory::find_group(const std::string& name) const {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

const Host* Inventory::find_host(const std::string& name) const {
  auto it = hosts_.find(name);
  return it == hosts_.end() ? nullptr : &it->second;
}

std::vector<std::string> Inventory::hosts_of(const std::string& group_name) const {
  std::vector<std::string> out;
  if (group_name == "all") return host_order_;
  std::set<std::string> seen_hosts, seen_groups;
  std::function<void(const std::string&)> walk = [&](const std::string& name) {
    if (!seen_groups.insert(name).second) return;
    const Group* g = find_group(name);
    if (!g) return;
    for (const auto& h : g->hosts)
      if (seen_hosts.insert(h).second) out.push_back(h);
    for (const auto& kid : g->children) walk(kid);
  };
  walk(group_name);
  return out;
}

bool Inventory::in_group(const std::string& host_name, const std::string& group_name) const {
  const auto members = hosts_of(group_name);
  return std::find(members.begin(), members.end(), host_name) != members.end();
}

std::vector<std::string> Inventory::groups_of(const std::string& host_name) const {
  std::vector<const Group*> found;
  for (const auto& [name, g] : groups_)
    if (name == "all" || in_group(host_name, name)) found.push_back(&g);
  std::stable_sort(found.begin(), found.end(), [](const Group* a, const Group* b) {
    return a->depth != b->depth ? a->depth < b->depth : a->name < b->name;
  });
  std::vector<std::string> out;
  for (const auto* g : found) out.push_back(g->name);
  return out;
}

Diagnostics Inventory::validate() const {
  Diagnostics out;
  for (const auto& name : host_order_) {
    if (const std::string why = host_name_problem(name); !why.empty()) {
      const Host& h = hosts_.at(name);
      out.push_back({h.source.file, h.source.line, 0, name,
                     "host name " + json_text(Value(name)) + " " + why +
                         ": host names become file names (host_vars/, --facts, kha plan render), so this one is "
                         "refused even with ignore_assert_errors; rename the host"});
    }
  }
  // Cycles: a group reachable from itself through children.
  for (const auto& [name, g] : groups_) {
    std::set<std::string> seen;
    std::vector<std::string> stack(g.children.begin(), g.children.end());
    bool cycle = false;
    while (!stack.empty() && !cycle) {
      const std::string cur = stack.back();
      stack.pop_back();
      if (cur == name) cycle = true;
      if (!seen.insert(cur).second) continue;
      if (const Group* c = find_group(cur)) stack.insert(stack.end(), c->children.begin(), c->children.end());
    }
    if (cycle) out.push_back({g.source.file, g.source.line, 0, name, "group is its own descendant (children cycle)"});
  }
  for (const auto& name : host_order_) {
    bool grouped = false;
    for (const auto& [gname, g] : groups_)
      if (gname != "all" && gname != "ungrouped" && std::find(g.hosts.begin(), g.hosts.end(), name) != g.hosts.end())
        grouped = true;
    if (!grouped) {
      const Host& h = hosts_.at(name);
      out.push_back({h.source.file, h.source.line, 0, name,
                     "host is in no group; Kubespray's plays only act on hosts in kube_control_plane, kube_node, "
                     "etcd or calico_rr: add it to one or remove it"});
    }
  }
  return out;
}

}  // namespace kha::planner
