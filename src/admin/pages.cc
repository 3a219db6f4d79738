// The standard admin routes: /healthz, /readyz (every frontend has a backend up), /backends, /metrics.
#include "admin/pages.h"

namespace kha::admin {

HttpResponse readiness(const BackendsView& view) {
  std::string missing;
  for (const auto& f : view.frontends) {
    bool any_up = false;
    for (const auto& b : f.backends) any_up = any_up || b.state == "up";
    if (!any_up) {
      missing += "frontend " + f.name + ": no backend is up (" + std::to_string(f.backends.size()) +
                 " configured)\n";
    }
  }
  if (missing.empty()) return text_response(200, "ok");
  return HttpResponse{503, "text/plain; charset=utf-8", "not ready\n" + missing};
}

namespace {

Route healthz_route() {
  return {"GET", "/healthz", [](const HttpRequest&) { return text_response(200, "ok"); }};
}

Route metrics_route(const AdminPages& pages) {
  return {"GET", "/metrics", [registry = pages.metrics, refresh = pages.before_metrics,
                              more = pages.more_metrics](const HttpRequest&) {
            if (refresh) refresh();
            std::string body = registry->render();
            if (more) body += more();
            return HttpResponse{200, Registry::kContentType, std::move(body)};
          }};
}

}  // namespace

std::vector<Route> standard_routes(AdminPages pages) {
  auto backends = std::make_shared<std::function<BackendsView()>>(std::move(pages.backends));
  std::vector<Route> routes = {
      healthz_route(),
      {"GET", "/readyz", [backends](const HttpRequest&) { return readiness((*backends)()); }},
      {"GET", "/backends",
       [backends](const HttpRequest&) {
         return HttpResponse{200, "application/json", to_json((*backends)()) + "\n"};
       }},
  };
  if (pages.metrics) routes.push_back(metrics_route(pages));
  return routes;
}

std::vector<Route> metrics_routes(AdminPages pages) {
  std::vector<Route> routes = {healthz_route()};
  if (pages.metrics) routes.push_back(metrics_route(pages));
  return routes;
}

}  // namespace kha::admin
