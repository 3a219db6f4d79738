// Variable values of an Ansible inventory: a JSON-like value plus where it came from.
// Owns the conversions from YAML documents and from INI literals into values.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/result.h"

namespace kha::planner {

using Value = nlohmann::json;

// Where a variable was set: file and 1-based line ("" and 0 for flags and built-in defaults),
// and the precedence layer in words ("group_vars/k8s_cluster", "host_vars", "-e", "Kubespray default").
struct Source {
  std::string file;
  int line = 0;
  std::string layer;
  // "group_vars/all/all.yml:12" or "Kubespray default" or "-e"
  std::string to_string() const;
};

struct Var {
  Value value;
  Source source;
};

// Variables of one scope, by name.
using VarMap = std::map<std::string, Var>;

// Ansible's INI value rule (ast.literal_eval): ints, floats, True/False/None, quoted strings,
// lists, tuples and dicts of those; anything else stays the literal string.
Value parse_ini_literal(std::string_view text);

// Parses a YAML mapping of variables (a group_vars/host_vars file or `-e @file`).
// An empty document gives no variables; anything but a mapping at the top is an error.
// Each variable records file, the line of its key and `layer`.
Result<VarMap> parse_vars_yaml(std::string_view text, const std::string& file, const std::string& layer);

// Python's str() of a value, as Jinja prints it inside a larger string ("True", "None", "6443").
std::string value_to_text(const Value& value);

}  // namespace kha::planner
