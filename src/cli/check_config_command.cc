// kha check-config FILE: validates a proxy config and prints every problem at once.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "config/loader.h"

namespace kha::cli {
namespace {

std::string count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

void add_check_config_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("check-config", "Validate a kha proxy config file and print every problem");
  cmd->description(
      "Validate a kha proxy config file (YAML) without starting anything.\n"
      "Every problem is printed at once on stderr, one per line, as\n"
      "  FILE:LINE:COLUMN: KEY: what is wrong and what was expected\n"
      "On success one summary line is printed on stdout.\n"
      "Exit codes: 0 valid, 2 invalid or unreadable.");
  auto file = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "Config file to check, e.g. /etc/kha/kha.yaml")->required();
  cmd->callback([exit_code, file] {
    const auto result = config::load_config_file(*file);
    if (!result) {
      for (const auto& d : result.errors()) std::cerr << d.to_string() << '\n';
      *exit_code = 2;
      return;
    }
    const auto& c = result.value();
    std::size_t listeners = 0, backends = 0;
    std::string names;
    for (const auto& f : c.frontends) {
      listeners += f.listen.size();
      backends += f.backends.size();
      names += (names.empty() ? "" : ", ") + f.name;
    }
    std::cout << *file << ": ok: " << count(c.frontends.size(), "frontend") << " (" << names << "), "
              << count(listeners, "listener") << ", " << count(backends, "backend") << '\n';
    *exit_code = 0;
  });
}

}  // namespace kha::cli
