// ProxyMetrics: every `kha proxy` metric family registered once, with its name, help text and labels.
#include "admin/proxy_metrics.h"

#include "pool/backend.h"

namespace kha::admin {

ProxyMetrics::ProxyMetrics(Registry& r)
    : backend_up(r.gauge("kha_pool_backend_up", "1 when the backend is up, 0 when it is down.",
                         {"frontend", "backend"})),
      all_down(r.gauge("kha_pool_all_down", "1 when every backend of the frontend is down and all are tried.",
                       {"frontend"})),
      active_sessions(r.gauge("kha_proxy_active_sessions", "Client sessions open now.", {"frontend", "backend"})),
      sessions(r.counter("kha_proxy_sessions_total", "Client sessions sent to the backend.", {"frontend", "backend"})),
      connect_failures(r.counter("kha_proxy_connect_failures_total",
                                 "Upstream connects that failed, timed out or were reset before any byte.",
                                 {"frontend", "backend"})),
      connect_seconds(r.histogram("kha_proxy_connect_seconds", "Upstream connect latency.", {"frontend", "backend"})),
      bytes(r.counter("kha_proxy_bytes_total", "Bytes relayed; direction is upstream (to the backend) or downstream.",
                      {"frontend", "backend", "direction"})),
      spliced_bytes(r.counter("kha_proxy_spliced_bytes_total",
                              "Of the bytes relayed (both directions), those moved by splice(2): bulk transfers; "
                              "small messages are copied.",
                              {"frontend", "backend"})),
      sessions_closed_on_down(r.counter("kha_proxy_sessions_closed_on_down_total",
                                        "Sessions closed because their backend went down.", {"frontend", "backend"})),
      sessions_rebalanced(r.counter("kha_proxy_sessions_rebalanced_total",
                                    "Quiet sessions closed so that their clients reconnect to an emptier backend "
                                    "(rebalancing after a backend came back).",
                                    {"frontend", "backend"})),
      hedges(r.counter("kha_proxy_hedges_total", "Hedged attempts started; kind is connect or first_byte.",
                       {"frontend", "kind"})),
      hedges_refused(r.counter("kha_proxy_hedges_refused_total",
                               "Hedges not started because the frontend's hedge budget (hedge.budget_percent) was spent.",
                               {"frontend"})),
      clients_rejected(r.counter("kha_proxy_clients_rejected_total",
                                 "Clients given up because backends closed on their first bytes (not a TLS "
                                 "ClientHello they accept): counted against the client, never the backend.",
                                 {"frontend"})),
      session_cap(r.gauge("kha_proxy_session_cap",
                          "Client sessions the process may hold at once (max_sessions, bounded by the "
                          "open-files limit); at the cap new clients wait in the listen backlog.",
                          {})),
      coroutine_failures(r.counter("kha_coroutine_failures_total",
                                   "Background tasks (checkers, discovery, admin, takeover, shutdown) that ended "
                                   "with an exception; each is logged as coroutine_failed.",
                                   {})),
      session_cap_pauses(r.counter("kha_proxy_session_cap_pauses_total",
                                   "Times a worker stopped accepting for a moment because the session cap was reached.",
                                   {})),
      frontend_sessions(r.gauge("kha_proxy_frontend_sessions",
                                "Client sessions of the frontend open now, racing or relaying, on every worker.",
                                {"frontend"})),
      frontend_session_cap(r.gauge("kha_proxy_frontend_session_cap",
                                   "The frontend's max_sessions; 0 when only the process-wide cap applies.",
                                   {"frontend"})),
      frontend_session_skew(r.gauge("kha_proxy_frontend_session_skew_ratio",
                                    "Sessions of the fullest healthy backend over the emptiest's (an empty one counts "
                                    "as 1); 1 with fewer than two healthy backends. The rebalancer acts above "
                                    "rebalance.max_skew_percent.",
                                    {"frontend"})),
      session_age_mean(r.gauge("kha_proxy_backend_session_age_mean_seconds",
                               "Mean age of the backend's active sessions: long-lived sessions pinned to it.",
                               {"frontend", "backend"})),
      sessions_by_age(r.gauge("kha_proxy_backend_sessions_by_age",
                              "The backend's active sessions by age (0-1m, 1m-10m, 10m-1h, 1h-6h, 6h+): how long "
                              "its clients have been pinned to it.",
                              {"frontend", "backend", "age"})),
      frontend_session_cap_pauses(r.counter("kha_proxy_frontend_session_cap_pauses_total",
                                            "Times a worker stopped accepting for the frontend for a moment because "
                                            "its max_sessions was reached (its clients wait in the listen backlog).",
                                            {"frontend"})),
      worker_sessions(r.gauge("kha_proxy_worker_sessions", "Client sessions open now on each worker thread.", {"worker"})),
      worker_handovers(r.counter("kha_proxy_worker_handovers_total",
                                 "Clients a worker accepted while it held clearly more sessions than another, "
                                 "and handed to the least loaded one.",
                                 {"worker"})),
      checks(r.counter("kha_health_checks_total", "Health probe results; outcome is ok, l4, l6, l7, timeout, or passive (a client connection that failed before its first byte).",
                       {"frontend", "backend", "outcome"})),
      check_seconds(r.histogram("kha_health_check_seconds", "Health probe latency.", {"frontend", "backend"})),
      transitions(r.counter("kha_health_transitions_total", "Backend state changes; to is up or down.",
                            {"frontend", "backend", "to"})),
      check_connections(r.counter("kha_health_connections_total",
                                  "Connections health checks opened to a backend; kind is new (full TLS handshake, "
                                  "or a TCP connect for tcp checks) or resumed (TLS session resumed).",
                                  {"frontend", "backend", "kind"})),
      check_requests(r.counter("kha_health_requests_total", "HTTP requests health checks sent to a backend.",
                               {"frontend", "backend"})),
      reloads(r.counter("kha_daemon_reloads_total", "Configuration reloads; result is ok or failed.", {"result"})),
      last_reload_successful(r.gauge("kha_config_last_reload_successful",
                                     "1 when the last reload (or the start) applied the config file, 0 when it "
                                     "failed and the running config was kept.")),
      last_reload_success_timestamp(r.gauge("kha_config_last_reload_success_timestamp_seconds",
                                            "When the config was last applied (start or reload), in seconds since "
                                            "the Unix epoch.")),
      build_info(r.gauge("kha_build_info", "Always 1; the version label names the running binary.", {"version"})),
      accept_failures(r.counter("kha_proxy_accept_failures_total",
                                "accept() failures that paused a listener for a moment (EMFILE, ENFILE, ENOBUFS, "
                                "...); each is logged as accept_failed.")),
      admin_evictions(r.counter("kha_admin_connections_evicted_total",
                                "Admin connections that had not sent a whole request, closed (oldest first) to "
                                "make room for a new connection when every slot was taken.")),
      admin_header_timeouts(r.counter("kha_admin_header_timeouts_total",
                                      "Admin connections closed because no whole request arrived within the "
                                      "header timeout.")),
      admin_rejections(r.counter("kha_admin_connections_rejected_total",
                                 "New admin connections closed because every slot was busy answering a request.")),
      admin_refusals(r.counter("kha_admin_requests_refused_total",
                               "State-changing admin requests refused as possibly sent by a web page; rule is "
                               "origin, fetch_site, host or content_type.",
                               {"rule"})) {
  build_info.with({KHA_VERSION})->set(1);
  for (const char* result : {"ok", "failed"}) reloads.with({result});
  for (const char* rule : {"origin", "fetch_site", "host", "content_type"}) admin_refusals.with({rule});
  accept_failures.with({});
}

void ProxyMetrics::init_backend(const std::string& frontend, const std::string& backend) {
  for (const char* to : {"up", "down"}) transitions.with({frontend, backend, to});
  for (const char* outcome : kCheckOutcomes) checks.with({frontend, backend, outcome});
  for (const char* kind : {"new", "resumed"}) check_connections.with({frontend, backend, kind});
  check_requests.with({frontend, backend});
}

void ProxyMetrics::remove_backend(const std::string& frontend, const std::string& backend) {
  const LabelValues labels{frontend, backend};
  for (auto* f : {&backend_up, &active_sessions, &session_age_mean}) f->remove(labels);
  for (auto* f : {&sessions, &connect_failures, &spliced_bytes, &sessions_closed_on_down, &sessions_rebalanced,
                  &check_requests})
    f->remove(labels);
  for (auto* f : {&connect_seconds, &check_seconds}) f->remove(labels);
  for (const char* direction : {"upstream", "downstream"}) bytes.remove({frontend, backend, direction});
  for (const char* age : pool::kSessionAgeLabels) sessions_by_age.remove({frontend, backend, age});
  for (const char* to : {"up", "down"}) transitions.remove({frontend, backend, to});
  for (const char* outcome : kCheckOutcomes) checks.remove({frontend, backend, outcome});
  for (const char* kind : {"new", "resumed"}) check_connections.remove({frontend, backend, kind});
}

void ProxyMetrics::remove_frontend(const std::string& frontend) {
  for (auto* f : {&all_down, &frontend_sessions, &frontend_session_cap, &frontend_session_skew}) f->remove({frontend});
  for (auto* f : {&hedges_refused, &clients_rejected, &frontend_session_cap_pauses}) f->remove({frontend});
  for (const char* kind : {"connect", "first_byte"}) hedges.remove({frontend, kind});
}

}  // namespace kha::admin
