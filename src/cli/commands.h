// Each subcommand registers itself on the root app and, when it runs, stores the
// process exit code in *exit_code (0 ok, 1 runtime failure, 2 usage or config error).
#pragma once

#include <CLI/CLI.hpp>

namespace kha::cli {

void add_proxy_command(CLI::App& root, int* exit_code);
void add_check_config_command(CLI::App& root, int* exit_code);
void add_status_command(CLI::App& root, int* exit_code);
void add_reload_command(CLI::App& root, int* exit_code);
void add_demo_command(CLI::App& root, int* exit_code);
void add_plan_command(CLI::App& root, int* exit_code);
void add_vip_command(CLI::App& root, int* exit_code);
void add_standin_command(CLI::App& root, int* exit_code);  // hidden: the stand-in apiserver for demo and tests

}  // namespace kha::cli
