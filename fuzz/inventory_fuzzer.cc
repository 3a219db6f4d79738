// libFuzzer target: the INI and YAML inventory parsers and vars files. The first byte picks
// the parser; every input must give diagnostics or an inventory, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "planner/inventory_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  kha::planner::Inventory inv;
  kha::Diagnostics errors;
  switch (data[0] % 3) {
    case 0:
      errors = kha::planner::parse_ini_inventory(text, "inventory.ini", &inv);
      break;
    case 1:
      errors = kha::planner::parse_yaml_inventory(text, "hosts.yaml", &inv);
      break;
    default: {
      auto vars = kha::planner::parse_vars_yaml(text, "group_vars/all.yml", "group_vars/all");
      (void)vars;
      return 0;
    }
  }
  if (errors.empty()) {
    (void)inv.validate();
    std::size_t n = 0;
    for (const auto& h : inv.host_order())
      if (n++ < 100) (void)inv.groups_of(h);
    for (const auto& g : inv.group_order()) (void)inv.hosts_of(g);
  }
  return 0;
}
