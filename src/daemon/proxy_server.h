// ProxyServer: wires a validated config into running parts: one FrontendOwner per
// frontend (its listeners, backends, checkers, discovery), one Worker per core, the
// admin endpoint, the takeover socket and the signals (SIGTERM/SIGINT drain and stop,
// SIGHUP reload). Owns all of them; run() returns when the process should exit.
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
#include "daemon/frontend_owner.h"
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
  // Before start(): a listen address in use at start is retried for this long (kha proxy
  // --bind-retry); when it stays taken, the server stops with exit code 1.
  void set_bind_retry(std::chrono::milliseconds retry) { owner_context_.bind_retry = retry; }
  // Serves until SIGTERM/SIGINT (or request_stop()); returns the exit code.
  int run();
  void request_stop();

  // Takeover (binary upgrade), new side: listening sockets received from the old
  // process, adopted by start() for the endpoints they match; the rest are closed.
  void inherit_listeners(ListenerFds fds) { parked_ = std::move(fds); }
  // Old side: serve the takeover socket at `path` after start(). Returns "" or why not.
  std::string enable_takeover(const std::string& path);

  asio::io_context& main_context() { return main_; }

 private:
  asio::awaitable<void> handle_signals();
  asio::awaitable<void> announce_ready();
  asio::awaitable<void> feed_watchdog(std::chrono::microseconds interval);
  asio::awaitable<void> shutdown(std::string reason);
  // Beside the old nginx-proxy/haproxy, whose health check holds the admin port on every
  // interface (Kubespray's loadbalancer_apiserver_healthcheck_port, 8081 in its sample
  // inventory): the admin endpoint is bound once that proxy is gone, as the listeners are
  // (--bind-retry); the data path serves meanwhile. Gives up (exit 1) after bind_retry.
  asio::awaitable<void> retry_admin_bind();
  std::size_t active_sessions() const;
  std::vector<admin::Route> admin_routes();
  // The owners in the config's order (what the admin pages list).
  std::vector<AdminWiring::Frontend> frontends_in_order() const;
  // Closes the parked sockets no frontend took (after start() and reload).
  void close_parked(const char* event);

  // Reload (reload.cc): validate aside, then every frontend's owner applies its part
  // (frontend_owner.h). Returns the problems ("file:line:col: key: message"); empty
  // when the new config runs. Main thread only (SIGHUP and the admin POST /reload).
  std::vector<std::string> reload();

  config::Config config_;
  asio::io_context main_{1};
  asio::signal_set signals_{main_};
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::shared_ptr<proxy::SessionCap> session_cap_ = std::make_shared<proxy::SessionCap>();
  std::size_t open_files_ = 0;  // the soft RLIMIT_NOFILE after start() raised it
  void apply_session_cap();
  // Listening sockets waiting for an owner to adopt them (OwnerContext::parked).
  ListenerFds parked_;
  bool stopping_ = false;
  OwnerContext owner_context_{main_, workers_, parked_, stopping_, [this] { return config_.drain_timeout; }, {}, {},
                              std::chrono::milliseconds(0), {}};
  // One owner per frontend, by name: everything the control plane keeps for it.
  std::map<std::string, std::shared_ptr<FrontendOwner>> owners_;
  std::unique_ptr<TakeoverServer> takeover_;
  AdminWiring admin_{main_, [this] { return frontends_in_order(); }};
  SdNotify notify_ = SdNotify::from_environment(/*unset_environment=*/true);
  int exit_code_ = 0;
};

}  // namespace kha::daemon
