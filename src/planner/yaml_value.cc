// yaml-cpp nodes to Values: PyYAML's YAML 1.1 scalar typing, duplicate keys, size and depth budgets.
#include "planner/yaml_value.h"

#include <charconv>
#include <optional>
#include <regex>
#include <set>

namespace kha::planner {

int line_of(const YAML::Node& node) {
  const auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

namespace {

// YAML 1.1 plain-scalar resolution as PyYAML does it (the subset inventories use).
Value resolve_plain(const std::string& s) {
  static const std::set<std::string> kTrue{"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const std::set<std::string> kFalse{"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  static const std::set<std::string> kNull{"", "~", "null", "Null", "NULL"};
  if (kTrue.count(s)) return Value(true);
  if (kFalse.count(s)) return Value(false);
  if (kNull.count(s)) return Value(nullptr);
  static const std::regex kInt("[-+]?(0|[1-9][0-9_]*)");
  static const std::regex kFloat("[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?");
  if (std::regex_match(s, kInt)) {
    std::string digits;
    for (char c : s)
      if (c != '_' && c != '+') digits += c;
    long long v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && p == digits.data() + digits.size()) return Value(v);
    return Value(s);
  }
  if (s != "." && std::regex_match(s, kFloat)) {
    try {
      return Value(std::stod(s));
    } catch (const std::exception&) {
      return Value(s);
    }
  }
  return Value(s);
}

// True while `budget` can pay for one more value of `scalar_bytes`; reports the first refusal.
bool spend(YamlBudget& budget, std::size_t scalar_bytes, const YAML::Node& node, const std::string& file,
           Diagnostics* errors) {
  if (budget.stopped) return false;
  budget.values += 1;
  budget.scalar_bytes += scalar_bytes;
  if (budget.values <= YamlBudget::kMaxValues && budget.scalar_bytes <= YamlBudget::kMaxScalarBytes) return true;
  budget.stopped = true;
  errors->push_back({file, line_of(node), 0, "",
                     "aliases expand this document past " + std::to_string(YamlBudget::kMaxValues) +
                         " values or 64 MiB of text (a YAML alias bomb?); refusing it"});
  return false;
}

Value convert(const YAML::Node& node, const std::string& file, Diagnostics* errors, YamlBudget& budget, int depth) {
  if (!spend(budget, node.IsScalar() ? node.Scalar().size() : 0, node, file, errors)) return Value(nullptr);
  if (depth > 64) {
    // Stops the whole document: an alias inside its own anchor (a: &a [*a]) is this deep on
    // every branch, and one message says enough.
    budget.stopped = true;
    errors->push_back({file, line_of(node), 0, "", "nesting deeper than 64 levels (an alias inside its own anchor?)"});
    return Value(nullptr);
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Value(nullptr);
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return Value(node.Scalar());
      if (node.Tag() == "?" || node.Tag().empty()) return resolve_plain(node.Scalar());
      if (node.Tag() == "!unsafe" || node.Tag() == "!vault") {
        errors->push_back({file, line_of(node), 0, "", "tag " + node.Tag() + " is not supported by kha plan"});
        return Value(nullptr);
      }
      return Value(node.Scalar());
    case YAML::NodeType::Sequence: {
      Value out = Value::array();
      for (const auto& item : node) {
        if (budget.stopped) break;
        out.push_back(convert(item, file, errors, budget, depth + 1));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Value out = Value::object();
      for (const auto& kv : node) {
        if (budget.stopped) break;
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        if (out.contains(key)) {
          errors->push_back({file, line_of(kv.first), 0, key, "duplicate key"});
          continue;
        }
        out[key] = convert(kv.second, file, errors, budget, depth + 1);
      }
      return out;
    }
  }
  return Value(nullptr);
}

}  // namespace

Value yaml_to_value(const YAML::Node& node, const std::string& file, Diagnostics* errors, YamlBudget& budget) {
  return convert(node, file, errors, budget, 0);
}

namespace {

// yaml-cpp parses nesting recursively: refuse documents deep enough to exhaust the stack.
std::optional<Diagnostic> too_deep(std::string_view text, const std::string& file) {
  constexpr int kMaxFlowDepth = 64;
  constexpr std::size_t kMaxIndent = 256;
  int depth = 0, line = 1;
  std::size_t indent = 0;
  bool at_line_start = true;
  for (const char c : text) {
    if (c == '\n') {
      ++line;
      indent = 0;
      at_line_start = true;
      continue;
    }
    if (at_line_start && (c == ' ' || c == '-')) {
      if (++indent > kMaxIndent) return Diagnostic{file, line, 0, "", "indented deeper than 256 columns"};
      continue;
    }
    at_line_start = false;
    if (c == '[' || c == '{') {  // counted inside quoted strings too: false alarms only past 64
      if (++depth > kMaxFlowDepth) return Diagnostic{file, line, 0, "", "nested deeper than 64 levels"};
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<YAML::Node> load_yaml(std::string_view text, const std::string& file) {
  if (auto deep = too_deep(text, file)) return *deep;
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Diagnostic{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0, "",
                      "invalid YAML: " + e.msg};
  }
}

}  // namespace kha::planner
