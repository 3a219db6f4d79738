#include <iostream>

#include "cli/commands.h"

namespace kha::cli {

// TODO(#4): replaced by the plan module's command.
void add_plan_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("plan", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([exit_code] {
    std::cerr << "kha plan: not built yet\n";
    *exit_code = 1;
  });
}

}  // namespace kha::cli
