// kha proxy: the node-local (or external) L4 load balancer for kube-apiservers and
// etcd members. Two forms: --config FILE, or flags for quick use and benchmarks.
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "common/duration.h"
#include "common/log.h"
#include "config/loader.h"
#include "config/schema.h"
#include "config/validate.h"
#include "daemon/proxy_server.h"

namespace kha::cli {
namespace {

struct ProxyFlags {
  std::string config_file;
  std::vector<std::string> listen;
  std::vector<std::string> backends;
  std::string health_check = "tcp";
  std::string balance = "roundrobin";
  std::string hedge_replay = "tls-hello";
  std::string admin = "127.0.0.1:8081";
  std::string log_format = "text";
  int workers = 0;
  bool no_splice = false;
  std::string takeover_socket;  // serve takeovers here (and, with takeover, take over from it)
  bool takeover = false;
  std::string bind_retry;  // a duration, "" = off
};

constexpr const char* kProxyHelp = R"(Forward TCP from local listeners to every healthy backend.

The node-local ("localhost") load balancer of Kubespray's HA mode: kubelet and
kube-proxy talk to https://localhost:6443 and kha forwards to every kube-apiserver;
or the external LB of the document's HAProxy example. L4 only: TLS passes through.

Backends are checked actively (tcp, tls, https /readyz) and passively (a failed
connect counts at once). Slow connects and silent backends are hedged: a second
backend is tried after --hedge delays, so clients do not notice a dead or hung
apiserver. Sessions pinned to a backend that goes down are closed so that watches
reconnect at once.

Signals: SIGTERM/SIGINT stop accepting, drain sessions up to shutdown_grace (30s),
then close the rest and exit 0. SIGHUP (or `kha reload`) reloads the config file.

Replacing another proxy (Kubespray's nginx-proxy or haproxy static pod): with
--bind-retry DURATION a listen address that is in use at start is tried again every
5 ms for up to DURATION while the admin endpoint already answers; kha takes the port
the moment the old proxy lets it go (log: bind_waiting, bind_taken, or bind_gave_up
and exit 1). Without it an address in use fails the start.

Binary upgrade: run with --takeover-socket PATH; start the new binary with the same
flags plus --takeover. It receives the listening sockets from the old process, serves
on them, and the old one stops accepting, drains up to shutdown_grace and exits 0: no
connection is refused. The new process then serves PATH for the next upgrade.

Examples:
  kha proxy --config /etc/kha/kha.yaml
  kha proxy --listen 127.0.0.1:6443 --listen [::1]:6443 \
            --backend 10.0.0.1:6443 --backend 10.0.0.2:6443 --backend 10.0.0.3:6443 \
            --health-check https --balance leastconn)";

// Builds a one-frontend config from the flag form.
config::Config config_from_flags(const ProxyFlags& f) {
  config::Config c;
  c.source = "<flags>";
  c.admin.listen = f.admin;
  c.workers = f.workers;
  c.splice = !f.no_splice;
  c.log_format = f.log_format;
  config::Frontend fe;
  fe.name = "default";
  fe.listen = f.listen;
  fe.balance = f.balance == "leastconn" ? config::Balance::LeastConn : config::Balance::RoundRobin;
  fe.hedge.replay = f.hedge_replay == "any" ? config::Replay::Any : config::Replay::TlsHello;
  if (f.health_check == "none") fe.health.kind = config::CheckKind::None;
  else if (f.health_check == "tls") fe.health.kind = config::CheckKind::Tls;
  else if (f.health_check == "https") fe.health.kind = config::CheckKind::Https;
  else fe.health.kind = config::CheckKind::Tcp;
  for (const auto& b : f.backends) fe.backends.push_back({"", b});
  c.frontends.push_back(std::move(fe));
  return c;
}

int run_proxy(const ProxyFlags& flags) {
  log::Format format;
  if (!log::parse_format(flags.log_format, &format)) {
    std::cerr << "kha proxy: --log-format: expected text or json, got '" << flags.log_format << "'\n";
    return 2;
  }
  log::setup(format);
  config::Config config;
  if (!flags.config_file.empty()) {
    if (!flags.listen.empty() || !flags.backends.empty()) {
      std::cerr << "kha proxy: --config cannot be combined with --listen/--backend\n";
      return 2;
    }
    auto loaded = config::load_config_file(flags.config_file);
    if (!loaded) {
      std::cerr << format_diagnostics(loaded.errors());
      return 2;
    }
    config = std::move(loaded).value();
    if (config.log_format == "json" && format != log::Format::Json) log::setup(log::Format::Json);
  } else {
    if (flags.listen.empty() || flags.backends.empty()) {
      std::cerr << "kha proxy: give --config FILE, or at least one --listen and one --backend\n";
      return 2;
    }
    config = config_from_flags(flags);
    config::fill_defaults(config);
    if (auto problems = config::validate(config); !problems.empty()) {
      for (const auto& d : problems) std::cerr << "kha proxy: " << d.to_string() << "\n";
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);  // splice(2) to a closed socket raises it; we handle EPIPE
  if (flags.takeover && flags.takeover_socket.empty()) {
    std::cerr << "kha proxy: --takeover needs --takeover-socket PATH (the old process's)\n";
    return 2;
  }
  daemon::ProxyServer server(std::move(config));
  if (!flags.bind_retry.empty()) {
    const auto retry = parse_duration(flags.bind_retry);
    if (!retry) {
      std::cerr << "kha proxy: --bind-retry: expected a duration such as 60s or 500ms, got '" << flags.bind_retry << "'\n";
      return 2;
    }
    server.set_bind_retry(*retry);
  }
  daemon::TakeoverClient takeover;
  if (flags.takeover) {
    if (auto error = takeover.receive(flags.takeover_socket, std::chrono::seconds(10)); !error.empty()) {
      log::error("takeover_failed", {{"error", error}});
      std::cerr << "kha proxy: " << error << "\n";
      return 1;
    }
    server.inherit_listeners(takeover.take_listeners());
  }
  if (auto error = server.start(); !error.empty()) {
    log::error("start_failed", {{"error", error}});
    std::cerr << "kha proxy: " << error << "\n";
    return 1;  // a takeover not confirmed: the old process keeps serving
  }
  if (!flags.takeover_socket.empty())
    if (auto error = server.enable_takeover(flags.takeover_socket); !error.empty()) {
      log::error("start_failed", {{"error", error}});
      std::cerr << "kha proxy: " << error << "\n";
      return 1;
    }
  if (flags.takeover) {
    if (auto error = takeover.confirm(); !error.empty()) log::warn("takeover_confirm_failed", {{"error", error}});
    else log::info("took_over", {{"socket", flags.takeover_socket}});
  }
  return server.run();
}

}  // namespace

void add_proxy_command(CLI::App& root, int* exit_code) {
  auto flags = std::make_shared<ProxyFlags>();
  auto* cmd = root.add_subcommand("proxy", "Run the L4 load balancer in front of kube-apiservers (or etcd)");
  cmd->footer(kProxyHelp);
  cmd->add_option("-c,--config", flags->config_file, "YAML config file (see kha.yaml(5))");
  cmd->add_option("-l,--listen", flags->listen, "Listen address host:port, IPv6 as [addr]:port (repeatable)");
  cmd->add_option("-b,--backend", flags->backends, "Backend address host:port (repeatable)");
  cmd->add_option("--health-check", flags->health_check, "Active check: tcp, tls, https (GET /readyz) or none")
      ->check(CLI::IsMember({"tcp", "tls", "https", "none"}));
  cmd->add_option("--balance", flags->balance, "roundrobin or leastconn")->check(CLI::IsMember({"roundrobin", "leastconn"}));
  cmd->add_option("--hedge-replay", flags->hedge_replay,
                  "First bytes that may go to a second backend: tls-hello (only a TLS ClientHello) or any "
                  "(a protocol you know is idempotent)")
      ->check(CLI::IsMember({"tls-hello", "any"}));
  cmd->add_option("--admin", flags->admin, "Admin endpoint (/healthz, /readyz, /metrics, /backends); '' disables");
  cmd->add_option("--workers", flags->workers, "Worker threads; 0 = one per core")->check(CLI::Range(0, 256));
  cmd->add_flag("--no-splice", flags->no_splice, "Copy through user space instead of splice(2)");
  cmd->add_option("--log-format", flags->log_format, "text or json");
  cmd->add_option("--takeover-socket", flags->takeover_socket,
                  "Unix socket through which a new kha process takes over the listeners");
  cmd->add_flag("--takeover", flags->takeover,
                "Take over the listeners of the kha process serving --takeover-socket, then replace it");
  cmd->add_option("--bind-retry", flags->bind_retry,
                  "At start, retry a listen address in use (another proxy's) for up to this duration, e.g. 60s");
  cmd->callback([flags, exit_code] { *exit_code = run_proxy(*flags); });
}

}  // namespace kha::cli
