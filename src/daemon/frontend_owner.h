// FrontendOwner: the one owner, on the control plane (main thread), of everything
// kept for one frontend: its listeners (bound endpoints and our listening fds), its
// backends and their checkers, its discovery, and the runtime the workers read.
//
// Level-triggered, as a Kubernetes controller: the config file (reload, start), the
// cluster (discovery) and the old process (takeover) each produce a *desired*
// config::Frontend, and apply() brings the frontend to it. config::diff decides what
// is rebuilt: a check-settings change restarts only the checkers and touches no
// session; a backend-set change adds and drains only those backends
// (pool::reconcile); a listener change rebinds only that listener; data-path
// settings are published in the next snapshot. Each apply logs one line,
// "frontend_applied frontend=X cause=... rebuilt=...", naming what it rebuilt.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "common/address.h"
#include "config/schema.h"
#include "daemon/backend_health.h"
#include "daemon/discovery.h"
#include "daemon/takeover.h"
#include "proxy/frontend_runtime.h"
#include "proxy/worker.h"

namespace kha::daemon {

// What the owners share, owned by ProxyServer and outliving them. Main thread only.
struct OwnerContext {
  asio::io_context& main;
  std::vector<std::unique_ptr<proxy::Worker>>& workers;
  // Listening sockets, by endpoint text, that a bind adopts instead of opening new ones:
  // the old process's at a takeover, and during a reload those a frontend just released,
  // for the frontend that takes the same address (no accept queue is closed).
  ListenerFds& parked;
  const bool& stopping;
  std::function<std::chrono::milliseconds()> drain_timeout;  // reload: how long removed backends drain
  // Metrics observers: (frontend, backend, ...).
  std::function<void(const std::string&, const std::string&, const health::Outcome&)> on_outcome;
  std::function<void(const std::string&, const std::string&, const health::Transition&)> on_transition;
  // --bind-retry: at start, a listen address another process holds (the old proxy being
  // replaced) is retried every few ms for this long; 0 = an address in use fails the start.
  std::chrono::milliseconds bind_retry{0};
  // Called on the main thread when a retried address was not freed in time.
  std::function<void(const std::string&)> on_bind_gave_up;
};

class FrontendOwner : public std::enable_shared_from_this<FrontendOwner> {
 public:
  FrontendOwner(OwnerContext& context, std::string name);
  ~FrontendOwner();
  FrontendOwner(const FrontendOwner&) = delete;
  FrontendOwner& operator=(const FrontendOwner&) = delete;

  // The frontend as the config file says (start, takeover, reload): the desired state
  // is the file's, with the backends discovery learned (or the state file kept) when
  // discovery is on. `cause`: "start", "takeover" or "reload". Returns "" or the
  // first problem (the rest is applied all the same).
  std::string configure(const config::Frontend& from_file, std::string_view cause);
  // Discovery results: a learned set (never an empty one) or an error (the static
  // backends come back when no learned one is up).
  void on_discovered(const std::vector<HostPort>& set);
  void on_discovery_error(const std::string& why);
  // Reload, before any frontend applies: unbinds the listeners not in `keep` and parks
  // their sockets, so that a frontend of the same reload can take the address.
  void release_listeners(const std::vector<std::string>& keep);
  // The frontend leaves (reload): listeners released, discovery stopped, backends drain.
  void retire();

  // Brings the frontend to `desired`. Returns "" or the first problem.
  std::string apply(const config::Frontend& desired, std::string_view cause);

  const std::string& name() const { return name_; }
  // Null before the first apply.
  const proxy::FrontendPtr& runtime() const { return runtime_; }
  const BackendHealth& health() const { return *health_; }
  // Our descriptor of every listening socket: (endpoint text, fd). What a takeover hands over.
  void collect_listen_fds(std::vector<std::pair<std::string, int>>* out) const;
  // Shutdown: our descriptors closed (the workers hold their own), discovery, checkers stopped.
  void close_listen_fds();
  void stop_discovery();
  void stop_checkers() { health_->stop(); }

 private:
  struct Listener {
    std::string text;  // as the config spells it
    std::vector<asio::ip::tcp::endpoint> endpoints;
    std::vector<std::pair<std::string, int>> fds;  // ours: (endpoint text, fd); the workers hold duplicates
  };
  // The file's frontend with `set` as its backends (static names kept for static addresses).
  config::Frontend with_backends(const std::vector<HostPort>& set) const;
  // Binds `text` on every worker (adopting a parked socket when there is one: *adopted).
  // *failed: the socket error when binding failed.
  std::string bind(const std::string& text, bool* adopted, std::error_code* failed = nullptr);
  // --bind-retry (frontend_owner_bind.cc): binds `text` once its holder lets it go.
  void wait_to_bind(const std::string& text);
  static asio::awaitable<void> retry_bind(std::weak_ptr<FrontendOwner> weak, std::string text);
  void unbind(const std::string& address);
  // Returns what changed ("+c -a"), or "" when the set is the same.
  // `first`: the frontend's first apply (new backends serve until checked).
  std::string reconcile_backends(const config::Frontend& desired, bool first, std::string* error);
  void retire_backend(const pool::BackendPtr& backend);
  // Discovery of `f` through its first listener; "" when off or started, else why not.
  std::string start_discovery(const config::Frontend& f);
  // Rebalancing (frontend_owner_rebalance.cc): one round about every second, from the
  // first apply until retire(), as `rebalance:` in the snapshot says.
  void start_rebalancing();
  void rebalance_round();
  // Each backend's bytes per second since the previous round (BackendStats::bytes_per_second).
  void sample_rates(const pool::BackendList& list, std::chrono::steady_clock::time_point now);

  OwnerContext& context_;
  std::string name_;
  config::Frontend from_file_;               // the last the file said: discovery's seed and fallback
  std::optional<std::vector<HostPort>> learned_;  // the set discovery last learned (or the state file held)
  config::Frontend applied_;                 // what apply() last brought the frontend to
  proxy::FrontendPtr runtime_;               // the snapshot the workers read
  std::shared_ptr<BackendHealth> health_;
  std::map<std::string, Listener> listeners_;  // by normalised address ("[::1]:6443")
  std::unique_ptr<Discovery> discovery_;
  std::unique_ptr<asio::steady_timer> rebalance_timer_;
  // Since when each backend has been up without a break (rebalance.settle); the weak
  // pointer tells a backend from a new one at the same address.
  std::map<const pool::Backend*, std::pair<std::weak_ptr<pool::Backend>, std::chrono::steady_clock::time_point>>
      up_since_;
  struct RateSample {
    std::weak_ptr<pool::Backend> backend;  // tells a backend from a new one at the same address
    std::uint64_t bytes = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::map<const pool::Backend*, RateSample> rate_samples_;
};

}  // namespace kha::daemon
