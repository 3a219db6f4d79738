// Conversion of yaml-cpp nodes into Values with YAML 1.1 scalar typing as PyYAML (and so
// Ansible) resolves it; duplicate mapping keys are reported, not silently merged.
#pragma once

#include <cstddef>
#include <string>

#include <yaml-cpp/yaml.h>

#include "common/diagnostic.h"
#include "planner/value.h"

namespace kha::planner {

// What one YAML document may expand to. yaml-cpp keeps an alias (*a) as a reference to its
// anchor, so a 542-byte "billion laughs" document loads cheaply but expands to 10^9 values
// when converted. Any document under the 16 MiB read limit has fewer values and scalar bytes
// than its own text unless aliases multiply it, so these bounds only refuse alias bombs; they
// also keep the converted document within ~100 MB. One budget is shared by every conversion
// of the same document, so many small aliases cannot each spend a fresh one.
struct YamlBudget {
  static constexpr std::size_t kMaxValues = 1'000'000;
  static constexpr std::size_t kMaxScalarBytes = 64 * 1024 * 1024;
  std::size_t values = 0;        // converted so far
  std::size_t scalar_bytes = 0;  // converted so far
  bool stopped = false;          // spent, or nested too deep: conversions return null, report nothing more
};

// Converts `node`, spending `budget`; problems (duplicate keys, unsupported tags, a budget
// spent, nesting deeper than 64 levels) are appended to *errors with `file` and the node's line.
Value yaml_to_value(const YAML::Node& node, const std::string& file, Diagnostics* errors, YamlBudget& budget);

// Parses one YAML document; a syntax error becomes a diagnostic with file:line:column.
Result<YAML::Node> load_yaml(std::string_view text, const std::string& file);

// The 1-based line of a node (0 when yaml-cpp has no mark).
int line_of(const YAML::Node& node);

}  // namespace kha::planner
