#include <iostream>

#include "cli/commands.h"

namespace kha::cli {

void add_demo_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("demo", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([exit_code] {
    std::cerr << "kha demo: not built yet\n";
    *exit_code = 1;
  });
}

}  // namespace kha::cli
