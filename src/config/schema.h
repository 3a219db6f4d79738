// The kha proxy configuration: every key with its default and constraint beside it.
// This file is the single source of the defaults; docs/config.md and --help quote it.
// Loading (YAML, flags) and validation live in loader.* and validate.*; this file is pure data.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/duration.h"

namespace kha::config {

using namespace std::chrono_literals;

enum class Balance {
  RoundRobin,  // "roundrobin": the document's HAProxy example
  LeastConn,   // "leastconn": Kubespray's nginx and haproxy localhost LB
};

enum class CheckKind {
  None,   // "none": every backend is always up (passive checks still apply)
  Tcp,    // "tcp": connect succeeds
  Tls,    // "tls": TCP + TLS handshake completes
  Https,  // "https": TLS + GET path answers expect_status
};

struct TlsClient {
  bool verify = false;          // verify: false is the document's "verify none"
  std::string ca_file;          // required when verify is true
  std::string server_name;      // SNI and name to verify; default: the backend host
  std::string cert_file;        // client certificate for authenticated probes (optional)
  std::string key_file;         // its key; both or neither
};

struct HealthCheck {
  CheckKind kind = CheckKind::Tcp;
  Millis interval = 1s;             // 1ms..1h: between probes while the state is settled
  Millis transition_interval = 250ms;  // 1ms..1h: while rise/fall counting is under way
  Millis down_interval = 1s;        // 1ms..1h: while the backend is down
  // 1ms..1h (below down_interval: no backoff): a backend down for 10 s and 10 probes (an apiserver restart, an
  // upgrade, not a blip) is probed ever less often, doubling up to this, so that when it
  // returns the fleet's first probes (full TLS handshakes) spread over this, not 1 s.
  Millis down_interval_max = 8s;
  Millis timeout = 1s;              // 1ms..5m: one probe, connect to last byte
  int rise = 2;                     // >= 1: consecutive successes to go up
  int fall = 2;                     // >= 1: consecutive failures to go down
  double jitter = 0.1;              // 0..0.5: +-fraction of the interval, so nodes do not probe in step
  // 0..24h: tls and https checks keep one connection (https: kept alive, a GET per probe;
  // TLS sessions resumed) and open a new one at least this often (jittered), so that a
  // backend that keeps old connections but accepts no new ones is caught. 0: a new
  // connection for every probe.
  Millis fresh_connect_interval = 120s;
  std::string path = "/readyz";     // https: path to GET
  int expect_status = 200;          // https: 100..599
  TlsClient tls;
};

struct Timeouts {
  Millis connect = 1s;        // 1ms..5m: per upstream connect attempt (Kubespray nginx: 1s)
  Millis client_idle = 3h;    // 1ms..24h: no byte from the client for this long closes the session
  Millis server_idle = 3h;    // 1ms..24h: no byte from the backend for this long closes the session
};

// Which first bytes of a client may be sent to a second backend (hedge, retry).
enum class Replay {
  TlsHello,  // "tls-hello": only a whole TLS ClientHello (a server acts on nothing before the handshake)
  Any,       // "any": whatever the client sent; only for a protocol the operator knows is idempotent
};

struct Hedge {
  Millis connect_delay = 100ms;     // 0..5m, 0 = off: start a second connect if the first is not done by then
  Millis first_byte_delay = 200ms;  // 0..5m, 0 = off: resend the client's first bytes elsewhere if the backend is silent
  std::uint32_t first_bytes_max = 16384;  // 1..65536: client bytes kept for replay
  Replay replay = Replay::TlsHello;
  int budget_percent = 50;          // 0..100: hedges per 100 new sessions, after a burst of 20; 100 = unlimited
};

// Spreading long-lived sessions again after a backend came back (pool/rebalance.h).
struct Rebalance {
  bool enabled = true;
  int max_skew_percent = 120;  // 101..1000: act when the fullest up backend holds more than this % of the emptiest
  int rate_percent = 2;        // 1..100: sessions closed per second, % of the frontend's (at least one)
  Millis settle = 30s;         // 0..1h: every up backend up at least this long first
  Millis quiet = 250ms;        // 1ms..1min: a session closed only after this long without a byte either way
};

struct Backend {
  std::string name;     // unique in its frontend; default: the address
  std::string address;  // host:port, IPv6 as [addr]:port
};

// Endpoint discovery (issue 5): learn the frontend's backends from the cluster, as
// k3s does, by watching the EndpointSlices of default/kubernetes through this very
// frontend. The static backends are the seed and the fallback.
struct Discovery {
  std::string kubeconfig;     // "" = discovery off; else a kubeconfig (client cert or token, CA)
  int port = 0;               // 0..65535: 0 = the port the EndpointSlice names, else this one
  std::string state_file;     // "" = none; the last learned set, for a restart during an API outage
  Millis retry = 2s;          // 1ms..1h: pause before listing again after an error
};

struct Frontend {
  std::string name;                  // unique, [a-z0-9_-]+
  std::vector<std::string> listen;   // >= 1 host:port
  std::vector<Backend> backends;     // >= 1
  Balance balance = Balance::RoundRobin;
  bool client_first = true;          // the client speaks first (TLS): enables first-byte hedging
  bool close_sessions_on_down = true;  // close sessions pinned to a backend that goes down
  // 0..1m, 0 = all at once: those closes spread over this window, jittered (proxy/close_pacing.h)
  Millis close_on_down_spread = 1s;
  int max_connect_attempts = 3;      // >= 1: backends tried before the client is closed
  int max_sessions = 0;              // 0..1000000: this frontend's client sessions at once; 0 = only the global cap
  // 0..1h, 0 = off: a backend that comes back up (or joins) is offered a share of new
  // sessions growing from 10% to all over this time, so that a restarted apiserver with
  // cold caches is not handed every reconnect at once (HAProxy's slowstart).
  Millis slow_start = 0s;
  // 1s..1h: how often a backend given by name is resolved again (also at once when its
  // check fails); the checker and the data path use what it resolved to (pool/resolution.h).
  Millis resolve_interval = 30s;
  Timeouts timeouts;
  Hedge hedge;
  Rebalance rebalance;
  HealthCheck health;
  Discovery discovery;
};

struct Admin {
  std::string listen = "127.0.0.1:8081";  // "" disables; the port Kubespray's proxy health check uses
  std::string metrics_listen;             // "" = none; serves only GET /metrics and /healthz (for Prometheus)
};

struct Config {
  std::string source = "<flags>";     // file the config came from, for messages
  std::vector<Frontend> frontends;    // >= 1
  Admin admin;
  int workers = 0;                    // 0 = one per core
  int max_sessions = 0;               // >= 0: client sessions of all frontends at once; 0 = derived from the open-files limit
  bool splice = true;                 // zero-copy relay; false forces the copy path
  Millis shutdown_grace = 30s;        // 0..1h; SIGTERM: how long sessions may drain
  Millis drain_timeout = 5min;        // 0..1h; reload: how long sessions on removed backends may drain
  std::string log_format = "text";    // text | json
};

const char* to_string(Balance b);
const char* to_string(CheckKind k);
const char* to_string(Replay r);

}  // namespace kha::config
