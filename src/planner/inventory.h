// Inventory: Ansible's host/group model as Kubespray uses it: hosts in groups, groups nested
// by `children`, variables at every level with their source, and the -e extra vars.
// Owns group ordering and Ansible's variable precedence; knows nothing of Kubespray.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "planner/value.h"

namespace kha::planner {

struct Host {
  std::string name;
  Source source;     // where the host first appears
  VarMap vars;       // set in the inventory file itself
  VarMap file_vars;  // host_vars/<name>[.yml|/...]: override `vars`
};

struct Group {
  std::string name;
  Source source;
  std::vector<std::string> hosts;     // direct members, in inventory order
  std::vector<std::string> children;  // child groups, in inventory order
  VarMap vars;                        // [g:vars] or YAML `vars:`
  VarMap file_vars;                   // group_vars/<name>: override `vars`
  int depth = 0;                      // distance from `all`, as Ansible computes it
};

// Why `name` cannot be an inventory host name, or "" when it can. Host names become path
// components (host_vars/<name>, the --facts file, `kha plan render`'s hosts/<name>/), so a name
// that could leave its directory is refused outright, whatever ignore_assert_errors says:
// empty, ".", anything containing "..", '/', NUL or another control character.
std::string host_name_problem(std::string_view name);

class Inventory {
 public:
  Inventory();

  // Returns the group, creating it (as a child of `all`) on first use.
  Group& group(const std::string& name, const Source& source);
  // Returns the host, creating it on first use.
  Host& host(const std::string& name, const Source& source);
  // Adds `host` to `group`; false if it is already a direct member.
  bool add_member(const std::string& group_name, const std::string& host_name);
  // Makes `child` a child of `parent`; false if it already is.
  bool add_child(const std::string& parent, const std::string& child);

  const Group* find_group(const std::string& name) const;
  const Host* find_host(const std::string& name) const;
  const std::vector<std::string>& host_order() const { return host_order_; }
  const std::vector<std::string>& group_order() const { return group_order_; }
  std::map<std::string, Group>& groups() { return groups_; }
  std::map<std::string, Host>& hosts() { return hosts_; }

  // groups['name'] as Ansible lists it: own hosts, then descendants' (depth first, in order),
  // each once. Unknown group: empty.
  std::vector<std::string> hosts_of(const std::string& group_name) const;
  // Every group containing `host` directly or through nesting, `all` included, ordered by
  // Ansible's precedence (depth, then name): later entries override earlier ones.
  std::vector<std::string> groups_of(const std::string& host_name) const;
  bool in_group(const std::string& host_name, const std::string& group_name) const;

  // Structural checks after loading: host names (host_name_problem), child cycles, hosts that
  // belong to no group.
  Diagnostics validate() const;

  VarMap extra_vars;  // -e, highest precedence

 private:
  void fix_depths();

  std::map<std::string, Group> groups_;
  std::map<std::string, Host> hosts_;
  std::vector<std::string> group_order_;
  std::vector<std::string> host_order_;
};

}  // namespace kha::planner
