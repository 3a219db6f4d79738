// Ansible's YAML inventory format (plugins/inventory/yaml.py): groups with hosts, children, vars.
#include "planner/inventory_parser.h"
#include "planner/yaml_value.h"

namespace kha::planner {

namespace {

class YamlInventoryReader {
 public:
  YamlInventoryReader(const std::string& file, Inventory* inv, Diagnostics* errors)
      : file_(file), inv_(inv), errors_(errors) {}

  void read_group(const std::string& name, const YAML::Node& node, int line, int depth) {
    if (depth > 32) {
      fail(line, name, "groups nested deeper than 32 levels");
      return;
    }
    if (!valid_group_name(name)) {
      fail(line, name, "invalid group name (letters, digits, '_' and '-' only)");
      return;
    }
    inv_->group(name, Source{file_, line, "inventory"});
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      fail(line_of(node), name, "expected a mapping with hosts, children or vars");
      return;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const int kline = line_of(kv.first);
      if (key == "hosts") read_hosts(name, kv.second, kline);
      else if (key == "children") read_children(name, kv.second, kline, depth);
      else if (key == "vars") read_vars(name, kv.second, kline);
      else fail(kline, name + "." + key, "unexpected key in group '" + name + "' (expected hosts, children or vars)");
    }
  }

 private:
  void fail(int line, const std::string& key, const std::string& message) {
    errors_->push_back({file_, line, 0, key, message});
  }

  void read_hosts(const std::string& group, const YAML::Node& node, int line) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      fail(line, group + ".hosts", "expected a mapping of host names (each with its variables or nothing)");
      return;
    }
    for (const auto& kv : node) {
      const int hline = line_of(kv.first);
      const std::string pattern = kv.first.Scalar();
      std::vector<std::string> names;
      std::string why;
      if (pattern.empty() || !expand_host_pattern(pattern, &names, &why)) {
        fail(hline, group + ".hosts", why.empty() ? "expected a host name" : why);
        continue;
      }
      VarMap vars;
      if (kv.second && !kv.second.IsNull()) {
        if (!kv.second.IsMap()) {
          fail(line_of(kv.second), pattern, "expected the host's variables as a mapping, or nothing");
          continue;
        }
        for (const auto& var : kv.second)
          vars[var.first.Scalar()] = Var{yaml_to_value(var.second, file_, errors_, budget_),
                                         Source{file_, line_of(var.first), "inventory host vars"}};
      }
      for (const auto& name : names) {
        Host& h = inv_->host(name, Source{file_, hline, "inventory"});
        for (auto& [k, v] : vars) h.vars[k] = v;
        if (!inv_->add_member(group, name)) fail(hline, name, "host listed twice in group '" + group + "'");
      }
    }
  }

  void read_children(const std::string& group, const YAML::Node& node, int line, int depth) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      fail(line, group + ".children", "expected a mapping of child group names");
      return;
    }
    for (const auto& kv : node) {
      const std::string child = kv.first.Scalar();
      const int cline = line_of(kv.first);
      if (child == group) {
        fail(cline, group, "group cannot be its own child");
        continue;
      }
      read_group(child, kv.second, cline, depth + 1);
      if (inv_->find_group(child) && group != "all" && !inv_->add_child(group, child))
        fail(cline, group + ".children", "child group '" + child + "' listed twice");
    }
  }

  void read_vars(const std::string& group, const YAML::Node& node, int line) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      fail(line, group + ".vars", "expected a mapping of variables");
      return;
    }
    Group& g = inv_->group(group, Source{file_, line, "inventory"});
    for (const auto& kv : node)
      g.vars[kv.first.Scalar()] = Var{yaml_to_value(kv.second, file_, errors_, budget_),
                                      Source{file_, line_of(kv.first), "inventory " + group + ".vars"}};
  }

  const std::string& file_;
  Inventory* inv_;
  Diagnostics* errors_;
  YamlBudget budget_;  // the variables are parts of the document the first pass already paid for
};

}  // namespace

Diagnostics parse_yaml_inventory(std::string_view text, const std::string& file, Inventory* inventory) {
  auto doc = load_yaml(text, file);
  if (!doc.ok()) return doc.errors();
  const YAML::Node& root = doc.value();
  Diagnostics errors;
  if (!root || root.IsNull()) return errors;
  if (!root.IsMap()) {
    errors.push_back({file, line_of(root), 0, "", "expected a mapping of group names (normally 'all:') at the top"});
    return errors;
  }
  // Detect duplicate keys anywhere (yaml-cpp keeps the last one silently), and alias bombs
  // before the reader below walks any part of the document.
  YamlBudget budget;
  yaml_to_value(root, file, &errors, budget);
  if (!errors.empty()) return errors;
  YamlInventoryReader reader(file, inventory, &errors);
  for (const auto& kv : root) reader.read_group(kv.first.Scalar(), kv.second, line_of(kv.first), 0);
  return errors;
}

}  // namespace kha::planner
