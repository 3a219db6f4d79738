// AdminWiring: the admin endpoint of a running proxy. Serves /healthz, /readyz,
// /metrics and /backends (admin/pages.h) on the main io_context, and only /metrics and
// /healthz on admin.metrics_listen (for a scraper off the node), from the live
// frontends and checkers. Data-path counters live in the backends' atomics and are
// mirrored into the metric families at scrape time, so the data path never takes a
// lock or a map lookup for metrics.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "admin/admin_server.h"
#include "admin/backends_view.h"
#include "admin/metrics.h"
#include "admin/proxy_metrics.h"
#include "config/schema.h"
#include "daemon/backend_health.h"
#include "proxy/frontend_runtime.h"
#include "proxy/session_cap.h"

namespace kha::daemon {

class AdminWiring {
 public:
  // One frontend as the admin pages see it, from its owner (frontend_owner.h).
  struct Frontend {
    proxy::FrontendPtr runtime;
    const BackendHealth* health;
  };
  // `frontends`: the live frontends, in the config's order; called on the main thread.
  AdminWiring(asio::io_context& main, std::function<std::vector<Frontend>()> frontends);

  // Binds admin.listen ("" = no admin endpoint) and admin.metrics_listen ("" = none; it
  // serves only GET /metrics and /healthz). Returns "" or why it cannot. `extra` routes are
  // served beside the standard pages of admin.listen (POST /reload), never on metrics_listen.
  // *failed: the bind's error, when that is why (address in use: the caller may retry).
  std::string start(const config::Admin& admin, std::vector<admin::Route> extra = {}, std::error_code* failed = nullptr);
  void stop();

  // The config file was applied or not: at start (reload false) or by a reload.
  void on_config(bool reload, bool ok);

  admin::BackendsView view() const;
  admin::Registry& registry() { return registry_; }
  admin::ProxyMetrics& metrics() { return metrics_; }
  // Per worker thread: sessions open now, clients handed over and accept() failures so far.
  struct WorkerLoad {
    std::size_t sessions = 0;
    std::uint64_t handovers = 0;
    std::uint64_t accept_failures = 0;
  };
  std::function<std::vector<WorkerLoad>()> worker_loads;
  std::shared_ptr<const proxy::SessionCap> session_cap;  // null: no cap shown

  // Called on the main thread for every probe outcome and transition.
  void on_outcome(const std::string& frontend, const std::string& backend, const health::Outcome& outcome);
  void on_transition(const std::string& frontend, const std::string& backend, const health::Transition& t);

 private:
  void refresh();

  asio::io_context& main_;
  std::function<std::vector<Frontend>()> frontends_;
  admin::Registry registry_;
  admin::ProxyMetrics metrics_{registry_};
  std::unique_ptr<admin::AdminServer> server_;
  std::unique_ptr<admin::AdminServer> metrics_server_;  // admin.metrics_listen
  // Kept across restarts of the server (takeover), mirrored into /metrics.
  std::shared_ptr<admin::AdminServerStats> server_stats_ = std::make_shared<admin::AdminServerStats>();
  // The frontends and backends with series (from the last scrape, or a probe since), to
  // stop exporting those a reload removed (main thread only).
  std::set<std::pair<std::string, std::string>> exported_backends_;
  std::set<std::string> exported_frontends_;
  // Backends removed, whose checkers may still report while they drain: not counted, so
  // that their series do not come back (until a reload adds the name again).
  std::set<std::pair<std::string, std::string>> retired_backends_;
  // When each backend's last probe finished (main thread only).
  std::map<const pool::Backend*, std::chrono::steady_clock::time_point> last_check_at_;
};

}  // namespace kha::daemon
