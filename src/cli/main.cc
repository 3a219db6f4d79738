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
  auto* help = app.add_subcommand("help", "Show this help, or a command's: kha help proxy");
  help->allow_extras();
  kha::cli::add_proxy_command(app, &exit_code);
  kha::cli::add_check_config_command(app, &exit_code);
  kha::cli::add_status_command(app, &exit_code);
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
    // App::help() would describe the selected subcommand ("help") itself: format the root.
    const auto topic = help->remaining();
    if (!topic.empty()) {
      for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
        if (sub->get_name() == topic.front()) {
          std::cout << sub->get_formatter()->make_help(sub, "kha " + sub->get_name(), CLI::AppFormatMode::Normal);
          return 0;
        }
      std::cerr << "kha help: no command '" << topic.front() << "'\n";
      return 2;
    }
    std::cout << app.get_formatter()->make_help(&app, "kha", CLI::AppFormatMode::Normal);
    return app.get_subcommands().empty() && argc > 1 ? 2 : 0;
  }
  return exit_code;
}
