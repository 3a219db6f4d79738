// The standard admin pages: /readyz means "every frontend has a backend up".
#include "admin/pages.h"

#include <gtest/gtest.h>

#include "admin/proxy_metrics.h"

namespace kha::admin {
namespace {

BackendsView view(const std::string& api_state, const std::string& etcd_state) {
  BackendsView v;
  v.frontends.push_back({"apiserver", {"127.0.0.1:6443"}, false,
                         {BackendView{"cp1", "10.0.0.1:6443", api_state, "https", {}, 0, 0, 0},
                          BackendView{"cp2", "10.0.0.2:6443", "down", "https", {}, 0, 0, 0}}});
  v.frontends.push_back({"etcd", {"127.0.0.1:2379"}, false,
                         {BackendView{"e1", "10.0.0.1:2379", etcd_state, "tcp", {}, 0, 0, 0}}});
  return v;
}

const Route& route(const std::vector<Route>& routes, const std::string& path) {
  for (const auto& r : routes) {
    if (r.path == path) return r;
  }
  throw std::runtime_error("no route " + path);
}

TEST(Pages, ReadyWhenEveryFrontendHasABackendUp) {
  const auto r = readiness(view("up", "up"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST(Pages, NotReadyNamesEachFrontendWithoutABackend) {
  const auto r = readiness(view("down", "down"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            "not ready\nfrontend apiserver: no backend is up (2 configured)\n"
            "frontend etcd: no backend is up (1 configured)\n");
}

TEST(Pages, StandardRoutesServeTheLiveView) {
  Registry registry;
  ProxyMetrics metrics(registry);
  metrics.sessions.with({"apiserver", "cp1"})->inc(5);
  std::string state = "up";
  const auto routes = standard_routes({&registry, nullptr, [&] { return view(state, "up"); }, nullptr});
  const HttpRequest get{"GET", "/", "", 1, {}, ""};
  EXPECT_EQ(route(routes, "/healthz").handler(get).body, "ok\n");
  EXPECT_EQ(route(routes, "/readyz").handler(get).status, 200);
  state = "down";
  EXPECT_EQ(route(routes, "/readyz").handler(get).status, 503);  // apiserver has no backend up now
  const auto backends = route(routes, "/backends").handler(get);
  EXPECT_EQ(backends.content_type, "application/json");
  std::string why;
  const auto parsed = parse_backends_json(backends.body, &why);
  ASSERT_TRUE(parsed) << why;
  EXPECT_EQ(parsed->frontends[0].backends[0].state, "down");
  const auto m = route(routes, "/metrics").handler(get);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("kha_proxy_sessions_total{frontend=\"apiserver\",backend=\"cp1\"} 5\n"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE kha_proxy_connect_seconds histogram\n"), std::string::npos);
}

TEST(ProxyMetrics, BackendSeriesStartAtZeroAndLeaveTogether) {
  Registry registry;
  ProxyMetrics metrics(registry);
  metrics.init_backend("apiserver", "cp1");
  metrics.init_backend("apiserver", "cp2");
  metrics.backend_up.with({"apiserver", "cp1"})->set(0);
  metrics.bytes.with({"apiserver", "cp1", "upstream"})->inc(3);
  metrics.check_seconds.with({"apiserver", "cp1"})->observe(0.01);
  auto text = registry.render();
  EXPECT_NE(text.find("kha_health_transitions_total{frontend=\"apiserver\",backend=\"cp1\",to=\"down\"} 0\n"),
            std::string::npos);
  for (const char* outcome : kCheckOutcomes)
    EXPECT_NE(text.find(std::string("backend=\"cp2\",outcome=\"") + outcome + "\"} 0\n"), std::string::npos)
        << outcome;
  metrics.remove_backend("apiserver", "cp1");
  text = registry.render();
  EXPECT_EQ(text.find("backend=\"cp1\""), std::string::npos) << text;
  EXPECT_NE(text.find("backend=\"cp2\""), std::string::npos);
}

TEST(Pages, MetricsRoutesServeOnlyMetricsAndHealthz) {
  Registry registry;
  ProxyMetrics metrics(registry);
  AdminPages pages{&registry, nullptr, nullptr, [] { return std::string("process_open_fds 7\n"); }};
  const auto routes = metrics_routes(pages);
  ASSERT_EQ(routes.size(), 2u);
  const HttpRequest get{"GET", "/", "", 1, {}, ""};
  EXPECT_EQ(route(routes, "/healthz").handler(get).body, "ok\n");
  const auto body = route(routes, "/metrics").handler(get).body;
  EXPECT_NE(body.find("kha_daemon_reloads_total{result=\"failed\"} 0\n"), std::string::npos) << "exported at 0";
  EXPECT_NE(body.find("kha_build_info{version=\"" KHA_VERSION "\"} 1\n"), std::string::npos);
  EXPECT_EQ(body.substr(body.size() - 19), "process_open_fds 7\n") << "appended after the registry";
  for (const auto& r : routes) EXPECT_EQ(r.method, "GET");
}

}  // namespace
}  // namespace kha::admin
