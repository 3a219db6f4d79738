// Loader: the file I/O half of the planner. Reads an inventory (a Kubespray inventory
// directory or one file), its group_vars/ and host_vars/ (files or directories), -e extra vars
// and the Ansible fact cache. Everything it reads is handed to the pure parsers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "planner/inventory.h"
#include "planner/plan.h"

namespace kha::planner {

// `path`: a directory holding inventory.ini / hosts.yaml (one of them) or an inventory file;
// group_vars/ and host_vars/ are read next to it. `extra_vars`: -e arguments in order
// ("k=v k2=v2", "@file.yml", or an inline YAML/JSON mapping).
Result<Inventory> load_inventory(const std::string& path, const std::vector<std::string>& extra_vars);

// Reads `dir`/<host> or `dir`/<host>.json for every inventory host, as `ansible -m setup --tree`
// or the jsonfile fact cache writes them. A missing file means no facts for that host; a file
// that cannot be read or parsed is an error.
Result<std::map<std::string, Facts>> load_facts(const std::string& dir, const Inventory& inventory);

// Parses one -e argument into variables (pure except for "@file").
Result<VarMap> parse_extra_vars(const std::string& arg);

}  // namespace kha::planner
