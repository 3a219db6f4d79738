// AdminWiring: the admin endpoint's pages and metrics from the live frontends (admin_wiring.h).
#include "daemon/admin_wiring.h"

#include "admin/pages.h"
#include "admin/process_metrics.h"
#include "common/address.h"
#include "common/log.h"
#include "pool/rebalance.h"
#include "proxy/session_registry.h"

namespace kha::daemon {

using Clock = std::chrono::steady_clock;

namespace {

// Of the backend's active sessions (BackendStats::session_start_sum_ms); 0 when none.
double mean_session_age_s(const pool::BackendStats& s, Clock::time_point now) {
  const auto active = s.active_sessions.load(std::memory_order_relaxed);
  if (active <= 0) return 0;
  const double mean_start_ms = static_cast<double>(s.session_start_sum_ms.load(std::memory_order_relaxed)) /
                               static_cast<double>(active);
  const double now_ms = static_cast<double>(proxy::started_ms(now));
  return std::max(0.0, (now_ms - mean_start_ms) / 1000.0);
}

// pool::session_skew over the backends that take new sessions.
double session_skew(const pool::BackendList& list) {
  std::vector<std::int64_t> sessions;
  for (const auto& b : list)
    if (b->up() && !b->removed()) sessions.push_back(b->stats().active_sessions.load(std::memory_order_relaxed));
  return pool::session_skew(sessions);
}

const char* outcome_label(const health::Outcome& o) {
  if (o.ok) return "ok";
  switch (o.layer) {
    case health::Layer::Connect: return "l4";
    case health::Layer::Tls: return "l6";
    case health::Layer::Http: return "l7";
    case health::Layer::Timeout: return "timeout";
    case health::Layer::Passive: return "passive";
    case health::Layer::Local: return "local";  // kha's own resources ran out: no verdict
  }
  return "?";
}

}  // namespace

AdminWiring::AdminWiring(asio::io_context& main, std::function<std::vector<Frontend>()> frontends)
    : main_(main), frontends_(std::move(frontends)) {}

std::string AdminWiring::start(const config::Admin& admin, std::vector<admin::Route> extra, std::error_code* failed) {
  admin::AdminPages pages;
  pages.metrics = &registry_;
  pages.before_metrics = [this] { refresh(); };
  pages.more_metrics = [] { return admin::render_process_metrics(admin::read_process_stats()); };
  pages.backends = [this] { return view(); };
  auto serve = [&](const char* key, const std::string& listen, std::vector<admin::Route> routes,
                   std::unique_ptr<admin::AdminServer>* server) -> std::string {
    if (listen.empty()) return {};
    std::string why;
    auto hp = parse_host_port(listen, &why);
    if (!hp) return std::string(key) + " '" + listen + "': " + why;
    *server = std::make_unique<admin::AdminServer>(main_, *hp, std::move(routes),
                                                   admin::AdminServerOptions{.stats = server_stats_});
    if (auto ec = (*server)->start()) {
      if (failed) *failed = ec;
      return std::string("cannot listen on ") + key + " address " + hp->to_string() + ": " + ec.message();
    }
    return {};
  };
  auto routes = admin::standard_routes(pages);
  for (auto& r : extra) routes.push_back(std::move(r));
  if (auto e = serve("admin", admin.listen, std::move(routes), &server_); !e.empty()) return e;
  return serve("admin.metrics_listen", admin.metrics_listen, admin::metrics_routes(pages), &metrics_server_);
}

void AdminWiring::stop() {
  if (server_) server_->stop();
  if (metrics_server_) metrics_server_->stop();
}

void AdminWiring::on_config(bool reload, bool ok) {
  if (reload) metrics_.reloads.with({ok ? "ok" : "failed"})->inc();
  metrics_.last_reload_successful.with({})->set(ok ? 1 : 0);
  if (ok) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    metrics_.last_reload_success_timestamp.with({})->set(
        static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) / 1e3);
  }
}

void AdminWiring::on_outcome(const std::string& frontend, const std::string& backend, const health::Outcome& o) {
  if (retired_backends_.count({frontend, backend})) return;
  exported_backends_.emplace(frontend, backend);
  metrics_.checks.with({frontend, backend, outcome_label(o)})->inc();
  if (o.connection == health::Connection::New || o.connection == health::Connection::Resumed)
    metrics_.check_connections.with({frontend, backend, health::to_string(o.connection)})->inc();
  if (o.request_sent) metrics_.check_requests.with({frontend, backend})->inc();
  if (o.layer != health::Layer::Passive)
    metrics_.check_seconds.with({frontend, backend})->observe(static_cast<double>(o.latency.count()) / 1e6);
}

void AdminWiring::on_transition(const std::string& frontend, const std::string& backend, const health::Transition& t) {
  if (retired_backends_.count({frontend, backend})) return;
  exported_backends_.emplace(frontend, backend);
  metrics_.transitions.with({frontend, backend, health::to_string(t.to)})->inc();
}

void AdminWiring::refresh() {
  const auto now = Clock::now();
  std::set<std::pair<std::string, std::string>> backends_now;
  std::set<std::string> frontends_now;
  for (const auto& [fe, _] : frontends_()) {
    const auto list = fe->backends().snapshot();
    bool any_up = false;
    frontends_now.insert(fe->name());
    for (const auto& b : *list) {
      backends_now.emplace(fe->name(), b->name());
      const auto& s = b->stats();
      const std::vector<std::string> labels{fe->name(), b->name()};
      any_up |= b->up();
      metrics_.init_backend(fe->name(), b->name());
      metrics_.backend_up.with(labels)->set(b->up() ? 1 : 0);
      metrics_.active_sessions.with(labels)->set(static_cast<double>(s.active_sessions.load()));
      metrics_.session_age_mean.with(labels)->set(mean_session_age_s(s, now));
      const auto ages = s.session_ages();
      for (std::size_t i = 0; i < ages.size(); ++i)
        metrics_.sessions_by_age.with({fe->name(), b->name(), pool::kSessionAgeLabels[i]})->set(static_cast<double>(ages[i]));
      metrics_.sessions.with(labels)->mirror(s.sessions_total.load());
      metrics_.connect_failures.with(labels)->mirror(s.connect_failures.load());
      metrics_.sessions_closed_on_down.with(labels)->mirror(s.sessions_closed_on_down.load());
      metrics_.sessions_rebalanced.with(labels)->mirror(s.sessions_rebalanced.load());
      metrics_.bytes.with({fe->name(), b->name(), "upstream"})->mirror(s.bytes_to_backend.load());
      metrics_.bytes.with({fe->name(), b->name(), "downstream"})->mirror(s.bytes_to_client.load());
      metrics_.spliced_bytes.with(labels)->mirror(s.bytes_spliced.load());
      std::array<std::uint64_t, pool::kConnectLatencyBuckets.size() + 1> buckets{};
      for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] = s.connect_latency_buckets[i].load();
      metrics_.connect_seconds.with(labels)->mirror(buckets.data(),
                                                    static_cast<double>(s.connect_latency_sum_us.load()) / 1e6);
    }
    metrics_.all_down.with({fe->name()})->set(any_up || list->empty() ? 0 : 1);
    metrics_.frontend_session_skew.with({fe->name()})->set(session_skew(*list));
    std::uint64_t hedged_connects = 0, hedged_first_bytes = 0;
    for (const auto& b : *list) {
      hedged_connects += b->stats().hedged_connects.load();
      hedged_first_bytes += b->stats().hedged_first_bytes.load();
    }
    metrics_.hedges_refused.with({fe->name()})->mirror(fe->stats().hedges_refused.load());
    metrics_.clients_rejected.with({fe->name()})->mirror(fe->stats().client_rejected.load());
    metrics_.frontend_sessions.with({fe->name()})->set(static_cast<double>(fe->open_sessions()));
    metrics_.frontend_session_cap.with({fe->name()})->set(static_cast<double>(fe->settings()->max_sessions));
    metrics_.frontend_session_cap_pauses.with({fe->name()})->mirror(fe->stats().cap_pauses.load());
    metrics_.hedges.with({fe->name(), "connect"})->mirror(hedged_connects);
    metrics_.hedges.with({fe->name(), "first_byte"})->mirror(hedged_first_bytes);
  }
  for (const auto& [f, b] : exported_backends_) {
    if (backends_now.count({f, b})) continue;
    metrics_.remove_backend(f, b);
    retired_backends_.emplace(f, b);
  }
  for (const auto& key : backends_now) retired_backends_.erase(key);
  for (const auto& f : exported_frontends_)
    if (!frontends_now.count(f)) metrics_.remove_frontend(f);
  exported_backends_ = std::move(backends_now);
  exported_frontends_ = std::move(frontends_now);
  metrics_.coroutine_failures.with({})->mirror(log::coroutine_failures());
  if (session_cap) {
    metrics_.session_cap.with({})->set(static_cast<double>(session_cap->limit.load()));
    metrics_.session_cap_pauses.with({})->mirror(session_cap->pauses.load());
  }
  const auto& a = *server_stats_;
  metrics_.admin_evictions.with({})->mirror(a.evicted.load());
  metrics_.admin_header_timeouts.with({})->mirror(a.header_timeouts.load());
  metrics_.admin_rejections.with({})->mirror(a.rejected_full.load());
  metrics_.admin_refusals.with({"origin"})->mirror(a.refused_origin.load());
  metrics_.admin_refusals.with({"fetch_site"})->mirror(a.refused_fetch_site.load());
  metrics_.admin_refusals.with({"host"})->mirror(a.refused_host.load());
  metrics_.admin_refusals.with({"content_type"})->mirror(a.refused_content_type.load());
  if (worker_loads) {
    const auto loads = worker_loads();
    std::uint64_t accept_failures = 0;
    for (std::size_t i = 0; i < loads.size(); ++i) {
      metrics_.worker_sessions.with({std::to_string(i)})->set(static_cast<double>(loads[i].sessions));
      metrics_.worker_handovers.with({std::to_string(i)})->mirror(loads[i].handovers);
      accept_failures += loads[i].accept_failures;
    }
    metrics_.accept_failures.with({})->mirror(accept_failures);
  }
}

admin::BackendsView AdminWiring::view() const {
  admin::BackendsView v;
  const auto now = Clock::now();
  for (const auto& [fe, health] : frontends_()) {
    const auto settings = fe->settings();
    admin::FrontendView f;
    f.name = fe->name();
    f.listen = settings->listen;
    bool any_up = false;
    for (const auto& b : *fe->backends().snapshot()) {
      admin::BackendView bv;
      bv.name = b->name();
      bv.address = b->address().to_string();
      bv.check = config::to_string(settings->health.kind);
      auto checker = health->checker(b.get());
      bv.state = checker ? health::to_string(checker->state()) : (b->up() ? "up" : "down");
      if (b->removed()) bv.state = "draining";
      any_up |= b->up() && !b->removed();
      if (checker) {
        if (auto at = health->last_outcome_at(b.get())) {
          const auto o = checker->last_outcome();
          admin::CheckResultView c;
          c.ok = o.ok;
          c.layer = o.ok ? "" : health::to_string(o.layer);
          c.reason = o.ok ? "" : o.reason;
          c.latency_ms = static_cast<double>(o.latency.count()) / 1000.0;
          c.age_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(now - *at).count()) / 1000.0;
          bv.last_check = c;
        }
      }
      bv.active_sessions = static_cast<std::uint64_t>(std::max<std::int64_t>(0, b->stats().active_sessions.load()));
      bv.sessions_total = b->stats().sessions_total.load();
      bv.connect_failures = b->stats().connect_failures.load();
      bv.mean_session_age_s = mean_session_age_s(b->stats(), now);
      bv.slow_start_share = b->admit(now, settings->slow_start);
      bv.bytes_per_s = b->stats().bytes_per_second.load(std::memory_order_relaxed);
      bv.resolved = *b->resolved();
      const auto ages = b->stats().session_ages();
      for (std::size_t i = 0; i < ages.size(); ++i) bv.session_ages.emplace_back(pool::kSessionAgeLabels[i], ages[i]);
      f.backends.push_back(std::move(bv));
    }
    f.all_down = !any_up && !f.backends.empty();
    f.session_skew = session_skew(*fe->backends().snapshot());
    v.frontends.push_back(std::move(f));
  }
  return v;
}

}  // namespace kha::daemon
