// Planner file I/O: the inventory file or directory, group_vars/, host_vars/, -e extra vars, the fact cache.
#include "planner/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "planner/inventory_parser.h"

namespace kha::planner {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxFileSize = 16 * 1024 * 1024;

Result<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return Diagnostic{path.string(), 0, 0, "", "cannot read: " + ec.message()};
  if (size > kMaxFileSize) return Diagnostic{path.string(), 0, 0, "", "file larger than 16 MiB"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Diagnostic{path.string(), 0, 0, "", "cannot open for reading"};
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Diagnostic{path.string(), 0, 0, "", "read error"};
  return out.str();
}

bool is_yaml_name(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".yml" || ext == ".yaml" || ext == ".json";
}

// Files Ansible's host_group_vars plugin reads for `name` under `dir`: dir/name(.yml|.yaml|.json)
// and everything below dir/name/ (sorted, hidden and backup files skipped).
std::vector<fs::path> vars_files(const fs::path& dir, const std::string& name) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const char* ext : {"", ".yml", ".yaml", ".json"}) {
    const fs::path p = dir / (name + ext);
    if (fs::is_regular_file(p, ec)) out.push_back(p);
  }
  const fs::path sub = dir / name;
  if (fs::is_directory(sub, ec)) {
    std::vector<fs::path> found;
    for (auto it = fs::recursive_directory_iterator(sub, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto fname = it->path().filename().string();
      if (fname.empty() || fname[0] == '.' || fname.back() == '~') continue;
      if (it->is_regular_file(ec) && (is_yaml_name(it->path()) || it->path().extension().empty())) found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

Diagnostics merge_vars_files(const fs::path& base, const std::string& kind, const std::string& name, VarMap* into) {
  Diagnostics errors;
  for (const auto& file : vars_files(base / kind, name)) {
    auto text = read_file(file);
    if (!text.ok()) {
      errors.insert(errors.end(), text.errors().begin(), text.errors().end());
      continue;
    }
    auto vars = parse_vars_yaml(text.value(), file.string(), kind + "/" + name);
    if (!vars.ok()) {
      errors.insert(errors.end(), vars.errors().begin(), vars.errors().end());
      continue;
    }
    for (auto& [k, v] : vars.value()) (*into)[k] = std::move(v);
  }
  return errors;
}

}  // namespace

Result<VarMap> parse_extra_vars(const std::string& arg) {
  if (!arg.empty() && arg[0] == '@') {
    const fs::path file = arg.substr(1);
    auto text = read_file(file);
    if (!text.ok()) return text.errors();
    return parse_vars_yaml(text.value(), file.string(), "-e @" + file.string());
  }
  const auto first = arg.find_first_not_of(" \t");
  if (first != std::string::npos && (arg[first] == '{' || arg[first] == '['))
    return parse_vars_yaml(arg, "-e", "-e");
  VarMap out;
  std::istringstream in(arg);
  std::string token;
  while (in >> token) {
    const auto eq = token.find('=');
    if (eq == std::string::npos || eq == 0)
      return Diagnostic{"-e", 0, 0, "", "expected key=value, @file.yml or a YAML/JSON mapping, got '" + token + "'"};
    std::string value = token.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    out[token.substr(0, eq)] = Var{Value(value), Source{"", 0, "-e"}};
  }
  return out;
}

Result<Inventory> load_inventory(const std::string& path, const std::vector<std::string>& extra_vars) {
  std::error_code ec;
  fs::path file = path;
  if (fs::is_directory(file, ec)) {
    std::vector<fs::path> found;
    for (const char* name : {"inventory.ini", "hosts.ini", "hosts.yaml", "hosts.yml", "inventory.yaml", "inventory.yml", "hosts"})
      if (fs::is_regular_file(file / name, ec)) found.push_back(file / name);
    if (found.empty())
      return Diagnostic{path, 0, 0, "", "no inventory file here (looked for inventory.ini, hosts.ini, hosts.yaml, hosts.yml, "
                                        "inventory.yaml, inventory.yml, hosts); pass the file with -i"};
    if (found.size() > 1)
      return Diagnostic{path, 0, 0, "", "more than one inventory file (" + found[0].filename().string() + ", " +
                                            found[1].filename().string() + "); pass the one to use with -i"};
    file = found[0];
  } else if (!fs::exists(file, ec)) {
    return Diagnostic{path, 0, 0, "", "no such file or directory"};
  }
  auto text = read_file(file);
  if (!text.ok()) return text.errors();
  Inventory inv;
  Diagnostics errors = is_yaml_name(file) ? parse_yaml_inventory(text.value(), file.string(), &inv)
                                          : parse_ini_inventory(text.value(), file.string(), &inv);
  if (!errors.empty()) return errors;
  const fs::path base = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  for (const auto& name : inv.group_order()) {
    auto e = merge_vars_files(base, "group_vars", name, &inv.groups().at(name).file_vars);
    errors.insert(errors.end(), e.begin(), e.end());
  }
  for (const auto& name : inv.host_order()) {
    if (!host_name_problem(name).empty()) continue;  // never a path; inv.validate() below reports it
    auto e = merge_vars_files(base, "host_vars", name, &inv.hosts().at(name).file_vars);
    errors.insert(errors.end(), e.begin(), e.end());
  }
  for (const auto& arg : extra_vars) {
    auto vars = parse_extra_vars(arg);
    if (!vars.ok()) {
      errors.insert(errors.end(), vars.errors().begin(), vars.errors().end());
      continue;
    }
    for (auto& [k, v] : vars.value()) inv.extra_vars[k] = std::move(v);
  }
  const auto structural = inv.validate();
  errors.insert(errors.end(), structural.begin(), structural.end());
  if (!errors.empty()) return errors;
  return inv;
}

Result<std::map<std::string, Facts>> load_facts(const std::string& dir, const Inventory& inventory) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Diagnostic{dir, 0, 0, "", "--facts: not a directory"};
  std::map<std::string, Facts> out;
  Diagnostics errors;
  for (const auto& host : inventory.host_order()) {
    if (!host_name_problem(host).empty()) continue;  // never a path; load_inventory refused it
    fs::path file = fs::path(dir) / host;
    if (!fs::exists(file, ec)) file += ".json";
    if (!fs::exists(file, ec)) continue;
    auto text = read_file(file);
    if (!text.ok()) {
      errors.insert(errors.end(), text.errors().begin(), text.errors().end());
      continue;
    }
    Value doc = Value::parse(text.value(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      // Locate the problem: nlohmann reports a byte offset through its exception form.
      int line = 0;
      try {
        const Value ignored = Value::parse(text.value());
        (void)ignored;
      } catch (const Value::parse_error& e) {
        line = 1 + static_cast<int>(std::count(text.value().begin(),
                                                text.value().begin() + std::min<std::size_t>(e.byte, text.value().size()), '\n'));
      } catch (const std::exception&) {
      }
      errors.push_back({file.string(), line, 0, "", "expected Ansible facts as a JSON object (ansible -m setup --tree)"});
      continue;
    }
    const Value& facts = doc.contains("ansible_facts") && doc["ansible_facts"].is_object() ? doc["ansible_facts"] : doc;
    Facts f;
    f.file = file.string();
    auto address = [&](const char* key) -> std::optional<std::string> {
      if (facts.contains(key) && facts[key].is_object() && facts[key].contains("address") && facts[key]["address"].is_string())
        return facts[key]["address"].get<std::string>();
      return std::nullopt;
    };
    f.ipv4 = address("ansible_default_ipv4");
    f.ipv6 = address("ansible_default_ipv6");
    if (facts.contains("ansible_hostname") && facts["ansible_hostname"].is_string()) f.hostname = facts["ansible_hostname"].get<std::string>();
    if (facts.contains("ansible_fqdn") && facts["ansible_fqdn"].is_string()) f.fqdn = facts["ansible_fqdn"].get<std::string>();
    out[host] = std::move(f);
  }
  if (!errors.empty()) return errors;
  return out;
}

}  // namespace kha::planner
