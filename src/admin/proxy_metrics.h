// The metrics of `kha proxy`, registered in one place so that names, labels and help texts
// stay consistent (a proposal the data path can adopt; every family is optional to use).
// Every label combination known in advance is exported from the start at 0 (here for fixed
// sets, at each scrape for the live backends), so that increase() sees the first event.
// Get children once per backend (`with({frontend, backend})`), keep the shared_ptrs, update
// them lock-free on the data path.
//
// | name                                      | type      | labels                      | meaning |
// |-------------------------------------------|-----------|-----------------------------|---------|
// | kha_pool_backend_up                       | gauge     | frontend, backend           | 1 up, 0 down |
// | kha_pool_all_down                         | gauge     | frontend                    | 1 when every backend is down (all are tried) |
// | kha_proxy_active_sessions                 | gauge     | frontend, backend           | sessions open now |
// | kha_proxy_sessions_total                  | counter   | frontend, backend           | sessions sent to the backend |
// | kha_proxy_connect_failures_total          | counter   | frontend, backend           | upstream connects that failed or timed out |
// | kha_proxy_connect_seconds                 | histogram | frontend, backend           | upstream connect latency |
// | kha_proxy_bytes_total                     | counter   | frontend, backend, direction| bytes relayed; direction = upstream or downstream |
// | kha_proxy_spliced_bytes_total             | counter   | frontend, backend           | of those bytes, moved by splice(2) (bulk) |
// | kha_proxy_sessions_closed_on_down_total   | counter   | frontend, backend           | sessions closed because their backend went down |
// | kha_proxy_sessions_rebalanced_total      | counter   | frontend, backend           | quiet sessions closed so that their clients reconnect to an emptier backend |
// | kha_proxy_hedges_total                    | counter   | frontend, kind              | hedges started; kind = connect or first_byte |
// | kha_health_checks_total                   | counter   | frontend, backend, outcome  | probe results; outcome = ok, l4, l6, l7, timeout, passive, local |
// | kha_health_check_seconds                  | histogram | frontend, backend           | probe latency |
// | kha_health_transitions_total              | counter   | frontend, backend, to       | state changes; to = up or down |
// | kha_health_connections_total              | counter   | frontend, backend, kind     | check connections opened; kind = new or resumed |
// | kha_health_requests_total                 | counter   | frontend, backend           | HTTP requests sent by checks |
// | kha_daemon_reloads_total                  | counter   | result                      | reloads; result = ok or failed |
// | kha_config_last_reload_successful         | gauge     |                             | 1 when the last reload (or the start) applied the file, 0 when it failed |
// | kha_config_last_reload_success_timestamp_seconds | gauge |                          | when the config was last applied (start or reload), Unix seconds |
// | kha_build_info                            | gauge     | version                     | always 1; the version of the running binary |
// | kha_proxy_accept_failures_total           | counter   |                             | accept() failures that paused a listener (EMFILE, ENFILE, ENOBUFS, ...) |
// | kha_proxy_frontend_sessions               | gauge     | frontend                    | client sessions of the frontend open now (racing or relaying) |
// | kha_proxy_frontend_session_cap            | gauge     | frontend                    | the frontend's max_sessions; 0 = only the global cap |
// | kha_proxy_frontend_session_skew_ratio     | gauge     | frontend                    | fullest / emptiest healthy backend's sessions (empty counts as 1) |
// | kha_proxy_backend_session_age_mean_seconds | gauge    | frontend, backend           | mean age of the backend's active sessions (pinning) |
// | kha_proxy_backend_sessions_by_age          | gauge    | frontend, backend, age      | its active sessions by age: 0-1m, 1m-10m, 10m-1h, 1h-6h, 6h+ |
// | kha_proxy_frontend_session_cap_pauses_total | counter | frontend                    | times a worker stopped accepting for the frontend at its max_sessions |
// | kha_proxy_worker_sessions                 | gauge     | worker                      | sessions open now on each worker thread |
// | kha_proxy_worker_handovers_total          | counter   | worker                      | clients accepted by the worker and handed to a less loaded one |
// | kha_admin_connections_evicted_total       | counter   |                             | admin connections without a whole request, closed to make room |
// | kha_admin_header_timeouts_total           | counter   |                             | admin connections closed: no whole request within the header timeout |
// | kha_admin_connections_rejected_total      | counter   |                             | new admin connections closed: every slot busy answering |
// | kha_admin_requests_refused_total          | counter   | rule                        | POSTs refused as from a web page; rule = origin, fetch_site, host, content_type |
#pragma once

#include "admin/metrics.h"

namespace kha::admin {

// The outcome label of kha_health_checks_total (daemon/admin_wiring.cc maps probe outcomes to it).
inline constexpr const char* kCheckOutcomes[] = {"ok", "l4", "l6", "l7", "timeout", "passive", "local"};

struct ProxyMetrics {
  explicit ProxyMetrics(Registry& r);
  // The per-backend counters of events that may not have happened yet (transitions, probe
  // outcomes, check connections), created at 0. Takes the families' locks: call per scrape.
  void init_backend(const std::string& frontend, const std::string& backend);
  // Stops exporting every series of a backend (or a frontend) that a reload removed, so
  // that a backend removed while down does not alert forever.
  void remove_backend(const std::string& frontend, const std::string& backend);
  void remove_frontend(const std::string& frontend);

  GaugeFamily& backend_up;
  GaugeFamily& all_down;
  GaugeFamily& active_sessions;
  CounterFamily& sessions;
  CounterFamily& connect_failures;
  HistogramFamily& connect_seconds;
  CounterFamily& bytes;
  CounterFamily& spliced_bytes;
  CounterFamily& sessions_closed_on_down;
  CounterFamily& sessions_rebalanced;
  CounterFamily& hedges;
  CounterFamily& hedges_refused;
  CounterFamily& clients_rejected;
  GaugeFamily& session_cap;
  CounterFamily& coroutine_failures;
  CounterFamily& session_cap_pauses;
  GaugeFamily& frontend_sessions;
  GaugeFamily& frontend_session_cap;
  GaugeFamily& frontend_session_skew;
  GaugeFamily& session_age_mean;
  GaugeFamily& sessions_by_age;
  CounterFamily& frontend_session_cap_pauses;
  GaugeFamily& worker_sessions;
  CounterFamily& worker_handovers;
  CounterFamily& checks;
  HistogramFamily& check_seconds;
  CounterFamily& transitions;
  CounterFamily& check_connections;
  CounterFamily& check_requests;
  CounterFamily& reloads;
  GaugeFamily& last_reload_successful;
  GaugeFamily& last_reload_success_timestamp;
  GaugeFamily& build_info;
  CounterFamily& accept_failures;
  CounterFamily& admin_evictions;
  CounterFamily& admin_header_timeouts;
  CounterFamily& admin_rejections;
  CounterFamily& admin_refusals;
};

}  // namespace kha::admin
