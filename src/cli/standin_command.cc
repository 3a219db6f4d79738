// `kha standin`: the stand-in kube-apiserver for the demo and the integration tests
// (kube-apiserver is not packaged). Hidden from `kha help`.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "common/address.h"
#include "common/duration.h"
#include "standin/server.h"

namespace kha::cli {
namespace {

struct StandinArgs {
  std::string listen = "127.0.0.1:0";
  std::string control;
  std::string name = "standin";
  std::string cert_file;
  std::string key_file;
  bool plain = false;
  std::string mode = "normal";
  std::string watch_interval = "1s";
  std::string endpoints_file;
  std::string client_ca;
  std::string rbac;
  std::vector<std::string> tokens;
};

int run_standin(const StandinArgs& a) {
  standin::Options o;
  std::string why;
  auto listen = parse_host_port(a.listen, &why);
  if (!listen) {
    std::cerr << "kha standin: --listen " << a.listen << ": " << why << "\n";
    return 2;
  }
  o.listen = *listen;
  if (!a.control.empty()) {
    auto control = parse_host_port(a.control, &why);
    if (!control) {
      std::cerr << "kha standin: --control " << a.control << ": " << why << "\n";
      return 2;
    }
    o.control = *control;
  }
  const bool name_ok = !a.name.empty() && a.name.size() <= 63 &&
                       std::all_of(a.name.begin(), a.name.end(), [](unsigned char c) {
                         return std::isalnum(c) || c == '-' || c == '.' || c == '_';
                       });
  if (!name_ok) {
    std::cerr << "kha standin: --name '" << a.name << "': expected 1 to 63 letters, digits, '-', '.' or '_'\n";
    return 2;
  }
  o.identity = a.name;
  if (a.cert_file.empty() != a.key_file.empty()) {
    std::cerr << "kha standin: --cert and --key must be given together\n";
    return 2;
  }
  if (a.plain && !a.cert_file.empty()) {
    std::cerr << "kha standin: --plain takes no --cert/--key\n";
    return 2;
  }
  o.cert_file = a.cert_file;
  o.key_file = a.key_file;
  o.plain = a.plain;
  const auto mode = standin::parse_mode(a.mode);
  if (!mode) {
    std::cerr << "kha standin: --mode " << a.mode << ": expected normal, hang, reset or refuse\n";
    return 2;
  }
  o.mode = *mode;
  const auto interval = parse_duration(a.watch_interval);
  if (!interval || interval->count() <= 0) {
    std::cerr << "kha standin: --watch-interval " << a.watch_interval
              << ": expected a positive duration such as 1s or 200ms\n";
    return 2;
  }
  o.watch_interval = *interval;
  o.endpoints_file = a.endpoints_file;
  if (!a.client_ca.empty() && a.plain) {
    std::cerr << "kha standin: --client-ca needs TLS; drop --plain\n";
    return 2;
  }
  o.client_ca_file = a.client_ca;
  if (!a.rbac.empty()) {
    std::map<std::string, std::string> tokens;
    for (const auto& t : a.tokens) {
      const auto eq = t.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == t.size()) {
        std::cerr << "kha standin: --token " << t << ": expected TOKEN=USER\n";
        return 2;
      }
      tokens[t.substr(0, eq)] = t.substr(eq + 1);
    }
    auto gate = standin::RbacGate::load(a.rbac, std::move(tokens));
    if (!gate) {
      for (const auto& e : gate.errors()) std::cerr << "kha standin: --rbac: " << e.to_string() << "\n";
      return 2;
    }
    o.rbac = std::make_shared<const standin::RbacGate>(std::move(gate).value());
  } else if (!a.tokens.empty()) {
    std::cerr << "kha standin: --token needs --rbac\n";
    return 2;
  }
  standin::Server server(std::move(o));
  return server.run();
}

}  // namespace

void add_standin_command(CLI::App& root, int* exit_code) {
  auto args = std::make_shared<StandinArgs>();
  auto* cmd = root.add_subcommand("standin", "Stand-in kube-apiserver for the demo and tests");
  cmd->group("");  // hidden from `kha help`
  cmd->description(
      "Serves what an L4 proxy in front of kube-apiserver relies on: GET /readyz, /livez,\n"
      "/healthz, etcd's /health, /version (with \"identity\"), watch streams (?watch=true,\n"
      "one event per --watch-interval), EndpointSlices of the kubernetes service; every\n"
      "response carries X-Standin-Identity. Control: POST /_standin/readyz?status=200|500,\n"
      "POST /_standin/mode?m=normal|hang|reset|refuse, GET /_standin/state.\n"
      "Prints 'listening HOST:PORT' (then 'control HOST:PORT') on stdout when ready;\n"
      "SIGTERM exits 0.");
  cmd->add_option("--listen", args->listen, "HOST:PORT to serve on; port 0 picks a free port")
      ->capture_default_str();
  cmd->add_option("--name", args->name, "Identity reported in every answer")->capture_default_str();
  cmd->add_option("--control", args->control,
                  "HOST:PORT of a plain-HTTP listener that serves everything, control included, "
                  "and ignores --mode");
  cmd->add_option("--cert", args->cert_file, "PEM certificate (chain); default: a self-signed one");
  cmd->add_option("--key", args->key_file, "PEM private key for --cert");
  cmd->add_flag("--plain", args->plain, "Plain HTTP instead of TLS");
  cmd->add_option("--mode", args->mode, "Initial mode: normal, hang, reset or refuse")->capture_default_str();
  cmd->add_option("--watch-interval", args->watch_interval, "Time between watch events")->capture_default_str();
  cmd->add_option("--endpoints-file", args->endpoints_file,
                  "JSON list of \"ip:port\" served as EndpointSlices of the kubernetes service "
                  "(re-read on every request; default: this stand-in's address)");
  cmd->add_option("--client-ca", args->client_ca,
                  "PEM CA: request client certificates signed by it and answer 401 to requests "
                  "without one (kube-apiserver with --anonymous-auth=false)");
  cmd->add_option("--rbac", args->rbac,
                  "YAML manifest whose Roles, ClusterRoles and bindings authorize resource requests "
                  "(kube-apiserver with --authorization-mode=RBAC); needs --token");
  cmd->add_option("--token", args->tokens, "TOKEN=USER: a bearer token and the user it names "
                  "(system:serviceaccount:NS:NAME); repeatable");
  cmd->callback([args, exit_code] { *exit_code = run_standin(*args); });
}

}  // namespace kha::cli
