// ProxyServer: wires a validated config into running parts: one FrontendRuntime
// per frontend, one Worker per core with its listeners, the health checkers, the
// admin endpoint and the signals (SIGTERM/SIGINT drain and stop, SIGHUP reload).
// Owns all of them; run() returns when the process should exit.
#pragma once

#include <map>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include <asio.hpp>

#include "common/sd_notify.h"
#include "config/schema.h"
#include "daemon/admin_wiring.h"
#include "daemon/backend_health.h"
#include "daemon/discovery.h"
#include "daemon/takeover.h"
#include "proxy/frontend_runtime.h"
#include "proxy/session_cap.h"
#include "proxy/worker.h"

namespace kha::daemon {

class ProxyServer {
 public:
  explicit ProxyServer(config::Config config);
  ~ProxyServer();

  // Resolves and binds every listener. On failure returns a message naming the
  // address and the reason ("127.0.0.1:6443: address already in use").
  std::string start();
  // Serves until SIGTERM/SIGINT (or request_stop()); returns the exit code.
  int run();
  void request_stop();

  // Takeover (binary upgrade), new side: listening sockets received from the old
  // process, adopted by start() for the endpoints they match; the rest are closed.
  void inherit_listeners(ListenerFds fds) { inherited_ = std::move(fds); }
  // Old side: serve the takeover socket at `path` after start(). Returns "" or why not.
  std::string enable_takeover(const std::string& path);

  const std::vector<proxy::FrontendPtr>& frontends() const { return frontends_; }
  const BackendHealth& health() const { return health_; }
  asio::io_context& main_context() { return main_; }

 private:
  asio::awaitable<void> handle_signals();
  asio::awaitable<void> announce_ready();
  asio::awaitable<void> feed_watchdog(std::chrono::microseconds interval);
  asio::awaitable<void> shutdown(std::string reason);
  std::size_t active_sessions() const;
  void on_backend_down(const pool::BackendPtr& backend);
  // Binds `listen` (host:port text) of `frontend` on every worker; "" or why not.
  std::string bind_listener(const proxy::FrontendPtr& frontend, const std::string& listen);
  // Stops `listen` of `frontend` on every worker; our sockets of it wait in inherited_
  // (reload takes or closes them). Reload only.
  void unbind_listener(const std::string& frontend, const std::string& listen);
  void close_listen_fds();
  std::vector<admin::Route> admin_routes();

  // Reload (reload.cc): validate aside, apply only the difference. Returns the
  // problems ("file:line:col: key: message"); empty when the new config runs.
  // Main thread only (SIGHUP and the admin POST /reload both run there).
  std::vector<std::string> reload();
  std::string apply_frontend(const config::Frontend& next);
  void retire_frontend(const std::string& name);
  void retire_backend(const pool::BackendPtr& backend);
  asio::awaitable<void> drain_then_close(pool::BackendPtr backend);

  // Endpoint discovery (proxy_server.cc): the file's frontend with `set` as its
  // backends (static names kept for static addresses); reconcile a learned set.
  config::Frontend with_backends(const config::Frontend& from_file, const std::vector<HostPort>& set) const;
  std::string start_discovery(const proxy::FrontendPtr& fe);
  void apply_discovered(const std::string& frontend, const std::vector<HostPort>& set);
  void on_discovery_error(const std::string& frontend, const std::string& why);

  config::Config config_;
  asio::io_context main_{1};
  asio::signal_set signals_{main_};
  std::vector<proxy::FrontendPtr> frontends_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::shared_ptr<proxy::SessionCap> session_cap_ = std::make_shared<proxy::SessionCap>();
  std::size_t open_files_ = 0;  // the soft RLIMIT_NOFILE after start() raised it
  void apply_session_cap();
  // Bound endpoints per (frontend, listen text), for reload to remove.
  std::map<std::pair<std::string, std::string>, std::vector<asio::ip::tcp::endpoint>> bound_;
  // Our own descriptor of every listening socket (the workers hold duplicates), per
  // (frontend, listen text): (endpoint text, fd). What a takeover hands over.
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, int>>> listen_fds_;
  // Listening sockets, by endpoint text, that bind_listener adopts instead of opening
  // new ones: the old process's at a takeover (start() closes the rest), and during a
  // reload those of listeners just removed, for a frontend that takes the same address.
  ListenerFds inherited_;
  std::vector<std::unique_ptr<Discovery>> discoveries_;
  // Per frontend: the backend set discovery last learned (or the state file held).
  std::map<std::string, std::vector<HostPort>> learned_;
  std::unique_ptr<TakeoverServer> takeover_;
  BackendHealth health_{main_, [this](const pool::BackendPtr& b) { on_backend_down(b); }};
  AdminWiring admin_{main_, frontends_, health_};
  SdNotify notify_ = SdNotify::from_environment(/*unset_environment=*/true);
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace kha::daemon
