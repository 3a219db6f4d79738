// kha status: the backend table of a running kha proxy (its admin /backends page) and,
// with --vip-admin, the VRRP state of a running kha vip (its admin /status page).
#include <chrono>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "admin/backends_view.h"
#include "cli/commands.h"
#include "common/address.h"
#include "common/duration.h"
#include "common/json_yaml.h"
#include "http/fetch.h"

namespace kha::cli {
namespace {

struct StatusOptions {
  std::string admin = "127.0.0.1:8081";
  std::string vip_admin;
  bool admin_given = false;
  std::string output = "table";
  std::string timeout = "5s";
};

// GET `path` on `endpoint`; the body of a 200 answer, or nullopt after saying why.
std::optional<std::string> fetch(const std::string& endpoint, const std::string& path,
                                 std::chrono::milliseconds timeout, const std::string& what, const std::string& hint) {
  const std::string url = "http://" + endpoint + path;
  const auto r = http::fetch(endpoint, path, {.timeout = timeout});
  if (!r.ok()) {
    std::cerr << "kha status: cannot reach " << what << " " << url << ": " << r.error << "\n  " << hint << '\n';
    return std::nullopt;
  }
  if (r.status != 200) {
    std::cerr << "kha status: " << url << " answered " << r.status << ": " << r.body.substr(0, 200) << '\n';
    return std::nullopt;
  }
  return r.body;
}

// The VRRP instance in a few lines (the /status document of kha vip).
std::string render_vip(const nlohmann::json& v) {
  auto text = [&](const char* key) {
    const auto it = v.find(key);
    if (it == v.end() || it->is_null()) return std::string("-");
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  std::string out = "VIP vrid " + text("vrid") + " on " + text("interface") + " (" + text("family") +
                    "): " + text("state") + ", priority " + text("priority") + " (base " + text("base_priority") +
                    "), master " + text("master") + "\n";
  std::string addresses;
  if (const auto it = v.find("addresses"); it != v.end() && it->is_array())
    for (const auto& a : *it) addresses += (addresses.empty() ? "" : ", ") + (a.is_string() ? a.get<std::string>() : a.dump());
  out += "  addresses: " + (addresses.empty() ? std::string("-") : addresses) + "\n";
  if (const auto it = v.find("tracking"); it != v.end() && it->is_string() && !it->get<std::string>().empty())
    out += "  tracking: " + it->get<std::string>() + " (" +
           (v.value("tracked_healthy", false) ? "healthy" : "failing") + ")\n";
  out += "  transitions: " + text("transitions") + ", last: " + text("last_reason") + "\n";
  return out;
}

int run_status(const StatusOptions& o) {
  std::string why;
  // What the user asked for: the proxy unless only --vip-admin was given.
  const bool want_proxy = o.admin_given || o.vip_admin.empty();
  if (want_proxy && !parse_host_port(o.admin, &why)) {
    std::cerr << "kha status: --admin: " << why << ", got \"" << o.admin << "\"\n";
    return 2;
  }
  if (!o.vip_admin.empty() && !parse_host_port(o.vip_admin, &why)) {
    std::cerr << "kha status: --vip-admin: " << why << ", got \"" << o.vip_admin << "\"\n";
    return 2;
  }
  const auto timeout = parse_duration(o.timeout);
  if (!timeout || timeout->count() <= 0) {
    std::cerr << "kha status: --timeout: expected a duration with a unit such as \"5s\", got \"" << o.timeout
              << "\"\n";
    return 2;
  }
  nlohmann::ordered_json proxy_doc, vip_doc;
  std::string proxy_table, vip_text;
  if (want_proxy) {
    const auto body = fetch(o.admin, "/backends", *timeout, "the admin endpoint",
                            "is kha proxy running, with admin.listen " + o.admin + "? (kha status --admin HOST:PORT)");
    if (!body) return 1;
    const auto view = admin::parse_backends_json(*body, &why);
    if (!view) {
      std::cerr << "kha status: http://" << o.admin << "/backends did not answer with the backends document: " << why
                << '\n';
      return 1;
    }
    proxy_doc = nlohmann::ordered_json::parse(*body);
    proxy_table = admin::render_table(*view);
  }
  if (!o.vip_admin.empty()) {
    const auto body = fetch(o.vip_admin, "/status", *timeout, "kha vip's admin endpoint",
                            "is kha vip running, with vip.admin " + o.vip_admin + "? (kha status --vip-admin HOST:PORT)");
    if (!body) return 1;
    vip_doc = nlohmann::ordered_json::parse(*body, nullptr, false);
    if (vip_doc.is_discarded() || !vip_doc.is_object() || !vip_doc.contains("state")) {
      std::cerr << "kha status: http://" << o.vip_admin << "/status did not answer with kha vip's status document\n";
      return 1;
    }
    vip_text = render_vip(vip_doc);
  }
  if (o.output == "json" || o.output == "yaml") {
    const auto doc = want_proxy && !o.vip_admin.empty() ? nlohmann::ordered_json{{"proxy", proxy_doc}, {"vip", vip_doc}}
                                                        : (want_proxy ? proxy_doc : vip_doc);
    std::cout << (o.output == "json" ? doc.dump(2) + "\n" : json_yaml(doc));
  } else {
    std::cout << proxy_table << (want_proxy && !vip_text.empty() ? "\n" : "") << vip_text;
  }
  return 0;
}

}  // namespace

void add_status_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("status", "Show the backends of a running kha proxy, and the VRRP state of kha vip");
  cmd->description(
      "Show the frontends and backends of a running kha proxy: state, health check, last\n"
      "check result and latency, active and total sessions. Reads GET /backends from the\n"
      "proxy's admin endpoint (admin.listen in its config). With --vip-admin, also the VRRP\n"
      "state of a running kha vip (GET /status from vip.admin): state, priority, master,\n"
      "addresses, tracking; only that when --admin is not given. With -o json (or yaml) and\n"
      "both, one document {\"proxy\": ..., \"vip\": ...}. The table also shows each backend's\n"
      "mean session age, bytes per second and sessions by age (under 1m / 10m / 1h / 6h /\n"
      "older), and a line per frontend whose sessions are skewed or whose backend is in its\n"
      "slow start.\n"
      "Exit codes: 0 shown, 1 admin endpoint unreachable or unexpected answer, 2 bad usage.");
  auto o = std::make_shared<StatusOptions>();
  auto* admin = cmd->add_option("--admin", o->admin, "The proxy's admin endpoint HOST:PORT")->capture_default_str();
  cmd->add_option("--vip-admin", o->vip_admin, "kha vip's admin endpoint HOST:PORT (vip.admin)");
  cmd->add_option("-o,--output", o->output, "Output format")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "How long to wait for the answer")->capture_default_str();
  cmd->callback([exit_code, o, admin] {
    o->admin_given = admin->count() > 0;
    *exit_code = run_status(*o);
  });
}

}  // namespace kha::cli
