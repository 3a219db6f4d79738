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

std::vector<Route> standard_routes(AdminPages pages) {
  auto backends = std::make_shared<std::function<BackendsView()>>(std::move(pages.backends));
  std::vector<Route> routes = {
      {"GET", "/healthz", [](const HttpRequest&) { return text_response(200, "ok"); }},
      {"GET", "/readyz", [backends](const HttpRequest&) { return readiness((*backends)()); }},
      {"GET", "/backends",
       [backends](const HttpRequest&) {
         return HttpResponse{200, "application/json", to_json((*backends)()) + "\n"};
       }},
  };
  if (pages.metrics) {
    const Registry* registry = pages.metrics;
    auto refresh = pages.before_metrics;
    routes.push_back({"GET", "/metrics", [registry, refresh](const HttpRequest&) {
                        if (refresh) refresh();
                        return HttpResponse{200, Registry::kContentType, registry->render()};
                      }});
  }
  return routes;
}

}  // namespace kha::admin
