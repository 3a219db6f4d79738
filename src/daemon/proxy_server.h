// ProxyServer: wires a validated config into running parts: one FrontendRuntime
// per frontend, one Worker per core with its listeners, the health checkers, the
// admin endpoint and the signals (SIGTERM/SIGINT drain and stop, SIGHUP reload).
// Owns all of them; run() returns when the process should exit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "config/schema.h"
#include "proxy/frontend_runtime.h"
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

  const std::vector<proxy::FrontendPtr>& frontends() const { return frontends_; }
  asio::io_context& main_context() { return main_; }

 private:
  asio::awaitable<void> handle_signals();
  asio::awaitable<void> shutdown(std::string reason);
  std::size_t active_sessions() const;
  void on_backend_down(const pool::BackendPtr& backend);

  config::Config config_;
  asio::io_context main_{1};
  asio::signal_set signals_{main_};
  std::vector<proxy::FrontendPtr> frontends_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace kha::daemon
