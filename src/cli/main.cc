// kha: highly available Kubernetes API endpoints for every node.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"kha: highly available Kubernetes API (and etcd) endpoints for every node of a cluster.\n"
               "One binary: a node-local L4 load balancer (proxy), an endpoint planner for Kubespray\n"
               "inventories (plan) and a VRRPv3 virtual IP (vip).",
               "kha"};
  app.set_version_flag("--version", std::string("kha ") + KHA_VERSION);
  app.require_subcommand(0, 1);
  app.footer("Run 'kha COMMAND --help' for a command's options.\nExit codes: 0 ok, 1 runtime failure, 2 usage or config error.");
  int exit_code = 0;
  kha::log::setup(kha::log::Format::Text);
  auto* help = app.add_subcommand("help", "Show this help");
  kha::cli::add_proxy_command(app, &exit_code);
  kha::cli::add_check_config_command(app, &exit_code);
  kha::cli::add_status_command(app, &exit_code);
  kha::cli::add_reload_command(app, &exit_code);
  kha::cli::add_plan_command(app, &exit_code);
  kha::cli::add_vip_command(app, &exit_code);
  kha::cli::add_demo_command(app, &exit_code);
  kha::cli::add_standin_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (help->parsed() || app.get_subcommands().empty()) {
    std::cout << app.help();
    return app.get_subcommands().empty() && argc > 1 ? 2 : 0;
  }
  return exit_code;
}
