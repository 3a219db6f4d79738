#include <iostream>

#include "cli/commands.h"

namespace kha::cli {

void add_standin_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("standin", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([exit_code] {
    std::cerr << "kha standin: not built yet\n";
    *exit_code = 1;
  });
}

}  // namespace kha::cli
