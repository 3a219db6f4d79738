// Conversion of yaml-cpp nodes into Values with YAML 1.1 scalar typing as PyYAML (and so
// Ansible) resolves it; duplicate mapping keys are reported, not silently merged.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "common/diagnostic.h"
#include "planner/value.h"

namespace kha::planner {

// Converts `node`; problems (duplicate keys, unsupported tags) are appended to *errors
// with `file` and the node's line.
Value yaml_to_value(const YAML::Node& node, const std::string& file, Diagnostics* errors);

// Parses one YAML document; a syntax error becomes a diagnostic with file:line:column.
Result<YAML::Node> load_yaml(std::string_view text, const std::string& file);

// The 1-based line of a node (0 when yaml-cpp has no mark).
int line_of(const YAML::Node& node);

}  // namespace kha::planner
