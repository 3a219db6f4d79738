#include <iostream>

#include "cli/commands.h"

namespace kha::cli {

// TODO(#6): replaced by the vip module's command.
void add_vip_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("vip", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([exit_code] {
    std::cerr << "kha vip: not built yet\n";
    *exit_code = 1;
  });
}

}  // namespace kha::cli
