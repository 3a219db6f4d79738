// kha status: the backend table of a running kha proxy, from its admin /backends page.
#include <chrono>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "admin/backends_view.h"
#include "admin/http_client.h"
#include "cli/commands.h"
#include "common/address.h"
#include "common/duration.h"

namespace kha::cli {
namespace {

struct StatusOptions {
  std::string admin = "127.0.0.1:8081";
  std::string output = "table";
  std::string timeout = "5s";
};

int run_status(const StatusOptions& o) {
  std::string why;
  if (!parse_host_port(o.admin, &why)) {
    std::cerr << "kha status: --admin: " << why << ", got \"" << o.admin << "\"\n";
    return 2;
  }
  const auto timeout = parse_duration(o.timeout);
  if (!timeout || timeout->count() <= 0) {
    std::cerr << "kha status: --timeout: expected a duration with a unit such as \"5s\", got \"" << o.timeout
              << "\"\n";
    return 2;
  }
  const std::string url = "http://" + o.admin + "/backends";
  const auto r = admin::http_get(o.admin, "/backends", *timeout);
  if (!r.ok()) {
    std::cerr << "kha status: cannot reach the admin endpoint " << url << ": " << r.error
              << "\n  is kha proxy running, with admin.listen " << o.admin << "? (kha status --admin HOST:PORT)\n";
    return 1;
  }
  if (r.status != 200) {
    std::cerr << "kha status: " << url << " answered " << r.status << ": " << r.body.substr(0, 200) << '\n';
    return 1;
  }
  const auto view = admin::parse_backends_json(r.body, &why);
  if (!view) {
    std::cerr << "kha status: " << url << " did not answer with the backends document: " << why << '\n';
    return 1;
  }
  if (o.output == "json") {
    std::cout << nlohmann::ordered_json::parse(r.body).dump(2) << '\n';
  } else {
    std::cout << admin::render_table(*view);
  }
  return 0;
}

}  // namespace

void add_status_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("status", "Show the backends of a running kha proxy");
  cmd->description(
      "Show the frontends and backends of a running kha proxy: state, health check, last\n"
      "check result and latency, active and total sessions. Reads GET /backends from the\n"
      "proxy's admin endpoint (admin.listen in its config).\n"
      "Exit codes: 0 shown, 1 admin endpoint unreachable or unexpected answer, 2 bad usage.");
  auto o = std::make_shared<StatusOptions>();
  cmd->add_option("--admin", o->admin, "Admin endpoint HOST:PORT")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "How long to wait for the answer")->capture_default_str();
  cmd->callback([exit_code, o] { *exit_code = run_status(*o); });
}

}  // namespace kha::cli
