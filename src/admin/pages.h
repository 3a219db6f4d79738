// The admin pages every kha proxy serves, as routes for AdminServer:
//   GET /healthz   200 "ok": the process serves (Kubespray's proxy liveness probe)
//   GET /readyz    200 "ok" only if every frontend has a backend that is up; otherwise 503
//                  and one line per frontend without one (a readiness probe that means it)
//   GET /metrics   Prometheus text from the registry
//   GET /backends  the BackendsView document (backends_view.h), read by `kha status`
// The daemon supplies the live view; handlers run on the admin io_context thread, so
// `backends` must be cheap and thread-safe against the data path (read atomics/snapshots).
#pragma once

#include <functional>
#include <vector>

#include "admin/admin_server.h"
#include "admin/backends_view.h"
#include "admin/metrics.h"

namespace kha::admin {

struct AdminPages {
  const Registry* metrics = nullptr;          // null: /metrics is not served
  std::function<void()> before_metrics;       // optional: refreshes mirrored values before a scrape
  std::function<BackendsView()> backends;     // required by standard_routes()
  std::function<std::string()> more_metrics;  // optional: text appended to the registry's (process_*)
};

std::vector<Route> standard_routes(AdminPages pages);

// Only GET /healthz and /metrics: what admin.metrics_listen serves off the node.
std::vector<Route> metrics_routes(AdminPages pages);

// The /readyz answer for a view: 200 "ok\n", or 503 naming each frontend with no backend up.
HttpResponse readiness(const BackendsView& view);

}  // namespace kha::admin
