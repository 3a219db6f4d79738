// The /backends document: what the daemon reports about each frontend and backend, and
// what `kha status` prints. One shape for both sides:
// {"frontends":[{"name":"apiserver","listen":["127.0.0.1:6443"],"all_down":false,
//   "backends":[{"name":"cp1","address":"127.0.0.1:7001","state":"up","check":"https",
//     "last_check":{"ok":true,"layer":"","reason":"","latency_ms":1.2,"age_ms":300},
//     "active_sessions":3,"sessions_total":10,"connect_failures":0,"mean_session_age_s":12.5,
//     "slow_start_share":1,"bytes_per_s":2048,"session_ages":{"0-1m":2,"1m-10m":1,"10m-1h":0,"1h-6h":0,"6h+":0}}],
//   "session_skew":1.2}]}
// "last_check" is null until the first probe has finished.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kha::admin {

struct CheckResultView {
  bool ok = false;
  std::string layer;   // where it failed: "L4" (connect), "L6" (TLS), "L7" (HTTP), "timeout"; "" when ok
  std::string reason;  // "connection refused", "status 500", ...; "" when ok
  double latency_ms = 0;
  double age_ms = 0;   // how long ago the probe finished
};

struct BackendView {
  std::string name;
  std::string address;
  std::string state;  // "up", "down", "rising", "falling", ... as the daemon names them
  std::string check;  // "none", "tcp", "tls", "https"
  std::optional<CheckResultView> last_check;
  std::uint64_t active_sessions = 0;
  std::uint64_t sessions_total = 0;
  std::uint64_t connect_failures = 0;
  double mean_session_age_s = 0;  // of its active sessions: long-pinned sessions show here
  double slow_start_share = 1;    // (0.1..1]: its share of new sessions while it ramps up
  double bytes_per_s = 0;         // relayed both ways, over about the last second
  // Its active sessions by age, youngest bucket first: ("0-1m", 12), ("1m-10m", 3), ...
  // (pool::kSessionAgeLabels); empty when the daemon did not say.
  std::vector<std::pair<std::string, std::int64_t>> session_ages{};
  // What a backend given by name resolved to (the addresses its checker and sessions
  // use); empty for an IP literal, and while a name has not resolved yet.
  std::vector<std::string> resolved{};
};

struct FrontendView {
  std::string name;
  std::vector<std::string> listen;
  bool all_down = false;  // every backend is down: the proxy tries them all regardless
  std::vector<BackendView> backends;
  double session_skew = 1;  // fullest / emptiest healthy backend's sessions (pool::session_skew)
};

struct BackendsView {
  std::vector<FrontendView> frontends;
};

// The /backends body (compact JSON).
std::string to_json(const BackendsView& view);

// Reads a /backends body; missing fields keep their defaults. On failure returns nullopt
// and sets *why.
std::optional<BackendsView> parse_backends_json(std::string_view text, std::string* why);

// The `kha status` table: one row per backend, columns aligned, and one line per frontend
// whose backends are all down.
std::string render_table(const BackendsView& view);

}  // namespace kha::admin
