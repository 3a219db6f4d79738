// Parsers for Ansible's two inventory file formats, into an Inventory. Pure: text in.
#pragma once

#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "planner/inventory.h"

namespace kha::planner {

// INI: `[group]` host lines (`name[:port] key=value ...`, numeric ranges `node[1:3]`),
// `[group:children]`, `[group:vars]`, comments with # or ;. Values follow Ansible's literal rule.
// Errors carry `file` and line; parsing goes on to report every error.
Diagnostics parse_ini_inventory(std::string_view text, const std::string& file, Inventory* inventory);

// YAML: top-level groups (normally `all`) with `hosts`, `children` and `vars`.
Diagnostics parse_yaml_inventory(std::string_view text, const std::string& file, Inventory* inventory);

// Expands Ansible's numeric host ranges: "node[01:03]" -> node01, node02, node03.
// Returns false (and *why) on a malformed range.
bool expand_host_pattern(const std::string& pattern, std::vector<std::string>* out, std::string* why);

// True for names Ansible accepts as group names (letters, digits, underscore; not starting with a digit... dashes
// are accepted with a warning by Ansible, so they are accepted here).
bool valid_group_name(std::string_view name);

}  // namespace kha::planner
