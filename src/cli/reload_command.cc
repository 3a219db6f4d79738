// kha reload: ask a running kha proxy to reload its config file (POST /reload on its
// admin endpoint), the same as SIGHUP but with the outcome as the answer: the new
// config runs (exit 0), or it failed validation and the old one keeps running (exit 1,
// the problems printed with file:line and field).
#include <chrono>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "common/address.h"
#include "http/fetch.h"

namespace kha::cli {
namespace {

int run_reload(const std::string& admin_address) {
  std::string why;
  if (!parse_host_port(admin_address, &why)) {
    std::cerr << "kha reload: --admin: " << why << ", got \"" << admin_address << "\"\n";
    return 2;
  }
  // Reload binds listeners and resolves names: allow it more than a page fetch.
  const auto r = http::fetch(admin_address, "/reload", {.method = "POST", .timeout = std::chrono::seconds(30)});
  if (!r.ok()) {
    std::cerr << "kha reload: cannot reach the admin endpoint http://" << admin_address << "/reload: " << r.error
              << "\n  is kha proxy running, with admin.listen " << admin_address
              << "? (kha reload --admin HOST:PORT)\n";
    return 1;
  }
  if (r.status == 200) {
    std::cout << r.body;
    return 0;
  }
  std::cerr << "kha reload: " << r.body;
  if (!r.body.empty() && r.body.back() != '\n') std::cerr << '\n';
  return 1;
}

}  // namespace

void add_reload_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("reload", "Reload the config of a running kha proxy");
  cmd->description(
      "Make a running kha proxy read its config file again (as SIGHUP does) and report the\n"
      "outcome. Only the difference is applied; open sessions on kept backends stay. A\n"
      "config that fails validation changes nothing and its problems are printed.\n"
      "Exit codes: 0 reloaded, 1 rejected or admin endpoint unreachable, 2 bad usage.");
  auto admin = std::make_shared<std::string>("127.0.0.1:8081");
  cmd->add_option("--admin", *admin, "Admin endpoint HOST:PORT")->capture_default_str();
  cmd->callback([exit_code, admin] { *exit_code = run_reload(*admin); });
}

}  // namespace kha::cli
