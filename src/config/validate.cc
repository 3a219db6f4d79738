// One rule per key, in the order of schema.h. Messages name what was expected and what was
// found; docs/config.md lists the same rules.
#include "config/validate.h"

#include <arpa/inet.h>

#include <cmath>
#include <map>
#include <optional>

#include "common/address.h"
#include "config/yaml_reader.h"

namespace kha::config {
namespace {

using namespace std::chrono_literals;

std::string quoted(const std::string& s) { return quote_scalar(s); }

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A listen address: an IP literal (names are not resolved for listening) with a port.
struct ListenAddress {
  std::string text;  // normalised, e.g. "[::1]:6443"
  bool ipv6 = false;
  bool wildcard = false;
  std::uint16_t port = 0;
};

std::string normalise_ip(const std::string& host, bool* ipv6) {
  char out[INET6_ADDRSTRLEN] = {};
  in6_addr a6{};
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    *ipv6 = false;
    inet_ntop(AF_INET, &a4, out, sizeof out);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    *ipv6 = true;
    inet_ntop(AF_INET6, &a6, out, sizeof out);
    return out;
  }
  return "";
}

class Checker {
 public:
  explicit Checker(const Config& c) : config_(c), flags_(c.source == "<flags>") {}

  void fail(const std::string& path, std::string message) {
    if (flags_) {
      out_.push_back(Diagnostic{"", 0, 0, flag_key(path), std::move(message)});
    } else {
      out_.push_back(Diagnostic{config_.source, 0, 0, path, std::move(message)});
    }
  }

  void at_least(const std::string& path, long long v, long long min) {
    if (v < min) fail(path, "must be >= " + std::to_string(min) + ", got " + std::to_string(v));
  }
  void within(const std::string& path, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) {
      fail(path, "must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
    }
  }
  // Every duration key has an upper bound as well: a value past it is a typo or an attack
  // (1000000000h), never a setting, and it keeps deadline arithmetic far from overflow.
  void within(const std::string& path, Millis d, Millis lo, Millis hi) {
    if (d < lo || d > hi) {
      fail(path, "must be " + format_duration(lo) + ".." + format_duration(hi) + ", got " + format_duration(d));
    }
  }

  // Parses a listen address or reports why not.
  std::optional<ListenAddress> listen_address(const std::string& path, const std::string& text) {
    std::string why;
    const auto hp = parse_host_port(text, &why);
    if (!hp) {
      fail(path, why + ", got " + quoted(text));
      return std::nullopt;
    }
    ListenAddress a;
    const std::string ip = normalise_ip(hp->host, &a.ipv6);
    if (ip.empty()) {
      fail(path, "expected an IP address to listen on (names are not resolved), got host " + quoted(hp->host));
      return std::nullopt;
    }
    a.port = hp->port;
    a.wildcard = ip == "0.0.0.0" || ip == "::";
    a.text = (a.ipv6 ? "[" + ip + "]" : ip) + ":" + std::to_string(a.port);
    return a;
  }

  // Reports an address that another listener (earlier in the file) already takes.
  void claim(const std::string& path, const ListenAddress& a) {
    if (a.port == 0) return;  // ephemeral: never collides
    for (const auto& [claimed_path, b] : claimed_) {
      if (a.port != b.port || a.ipv6 != b.ipv6) continue;
      const std::string other_path = flags_ ? flag_key(claimed_path) + " " + b.text : claimed_path;
      if (a.text == b.text) {
        if (flags_ && flag_key(path) == flag_key(claimed_path)) {
          fail(path, "address " + a.text + " is given twice");
          return;
        }
        fail(path, "address " + a.text + " is already used by " + other_path);
        return;
      }
      if (a.wildcard || b.wildcard) {
        fail(path, "address " + a.text + " overlaps " + b.text + " of " + other_path);
        return;
      }
    }
    claimed_.emplace_back(path, a);
  }

  void frontend(std::size_t i, const Frontend& f, std::map<std::string, std::string>* names);
  void health(const std::string& p, const HealthCheck& h);
  void run();

  Diagnostics take() { return std::move(out_); }

 private:
  const Config& config_;
  bool flags_;
  Diagnostics out_;
  std::vector<std::pair<std::string, ListenAddress>> claimed_;
};

bool valid_frontend_name(const std::string& name) {
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

void Checker::health(const std::string& p, const HealthCheck& h) {
  within(p + ".interval", h.interval, 1ms, 1h);
  within(p + ".transition_interval", h.transition_interval, 1ms, 1h);
  within(p + ".down_interval", h.down_interval, 1ms, 1h);
  // Below down_interval it means "no backoff" (health::Schedule::down_delay), so that a
  // config written before this key, with a long down_interval, stays valid.
  within(p + ".down_interval_max", h.down_interval_max, 1ms, 1h);
  within(p + ".timeout", h.timeout, 1ms, 5min);
  within(p + ".fresh_connect_interval", h.fresh_connect_interval, 0ms, 24h);
  at_least(p + ".rise", h.rise, 1);
  at_least(p + ".fall", h.fall, 1);
  if (!(h.jitter >= 0 && h.jitter <= 0.5)) fail(p + ".jitter", "must be 0..0.5, got " + number(h.jitter));
  if (h.path.empty() || h.path.front() != '/') fail(p + ".path", "must start with \"/\", got " + quoted(h.path));
  within(p + ".expect_status", h.expect_status, 100, 599);
  const TlsClient& t = h.tls;
  if (t.verify && t.ca_file.empty()) fail(p + ".tls.ca_file", "is required when verify is true");
  if (!t.cert_file.empty() && t.key_file.empty()) fail(p + ".tls.key_file", "is required when cert_file is set");
  if (t.cert_file.empty() && !t.key_file.empty()) fail(p + ".tls.cert_file", "is required when key_file is set");
}

void Checker::frontend(std::size_t i, const Frontend& f, std::map<std::string, std::string>* names) {
  const std::string p = "frontends[" + std::to_string(i) + "]";
  if (f.name.empty()) {
    fail(p + ".name", "is required");
  } else if (!valid_frontend_name(f.name)) {
    fail(p + ".name", "must match [a-z0-9_-]+, got " + quoted(f.name));
  } else if (const auto [it, inserted] = names->emplace(f.name, p); !inserted) {
    fail(p + ".name", "duplicate frontend name " + quoted(f.name) + " (also " + it->second + ")");
  }
  if (f.listen.empty()) fail(p + ".listen", "at least one address is required");
  for (std::size_t j = 0; j < f.listen.size(); ++j) {
    const std::string lp = p + ".listen[" + std::to_string(j) + "]";
    if (const auto a = listen_address(lp, f.listen[j])) claim(lp, *a);
  }
  if (f.backends.empty()) fail(p + ".backends", "at least one backend is required");
  std::map<std::string, std::string> backend_names, backend_addresses;
  for (std::size_t j = 0; j < f.backends.size(); ++j) {
    const Backend& b = f.backends[j];
    const std::string bp = p + ".backends[" + std::to_string(j) + "]";
    const std::string where = flags_ ? "given twice" : "also backends[" + std::to_string(j) + "]";
    std::string why;
    bool duplicate_address = false;
    if (b.address.empty()) {
      fail(bp + ".address", "is required");
    } else if (const auto hp = parse_host_port(b.address, &why); !hp) {
      fail(bp + ".address", why + ", got " + quoted(b.address));
    } else if (hp->port == 0) {
      fail(bp + ".address", "port must be 1..65535, got 0");
    } else if (const auto [it, inserted] = backend_addresses.emplace(hp->to_string(), where); !inserted) {
      duplicate_address = true;
      fail(bp + ".address", "duplicate backend address " + hp->to_string() + " (" + it->second + ")");
    }
    const std::string name = b.name.empty() ? b.address : b.name;
    if (name.empty() || (duplicate_address && name == b.address)) continue;
    if (const auto [it, inserted] = backend_names.emplace(name, where); !inserted) {
      fail(bp + ".name", "duplicate backend name " + quoted(name) + " (" + it->second + ")");
    }
  }
  at_least(p + ".max_connect_attempts", f.max_connect_attempts, 1);
  within(p + ".max_sessions", f.max_sessions, 0, 1000000);
  within(p + ".slow_start", f.slow_start, 0ms, 1h);
  within(p + ".resolve_interval", f.resolve_interval, 1s, 1h);
  within(p + ".close_on_down_spread", f.close_on_down_spread, 0ms, 1min);
  within(p + ".timeouts.connect", f.timeouts.connect, 1ms, 5min);
  within(p + ".timeouts.client_idle", f.timeouts.client_idle, 1ms, 24h);
  within(p + ".timeouts.server_idle", f.timeouts.server_idle, 1ms, 24h);
  within(p + ".hedge.connect_delay", f.hedge.connect_delay, 0ms, 5min);
  within(p + ".hedge.first_byte_delay", f.hedge.first_byte_delay, 0ms, 5min);
  within(p + ".hedge.first_bytes_max", f.hedge.first_bytes_max, 1, 65536);
  within(p + ".hedge.budget_percent", f.hedge.budget_percent, 0, 100);
  within(p + ".rebalance.max_skew_percent", f.rebalance.max_skew_percent, 101, 1000);
  within(p + ".rebalance.rate_percent", f.rebalance.rate_percent, 1, 100);
  within(p + ".rebalance.settle", f.rebalance.settle, 0ms, 1h);
  within(p + ".rebalance.quiet", f.rebalance.quiet, 1ms, 1min);
  health(p + ".health", f.health);
  within(p + ".discovery.port", f.discovery.port, 0, 65535);
  within(p + ".discovery.retry", f.discovery.retry, 1ms, 1h);
  if (f.discovery.kubeconfig.empty() && !f.discovery.state_file.empty())
    fail(p + ".discovery.kubeconfig", "is required when state_file is set");
}

void Checker::run() {
  const Config& c = config_;
  if (c.log_format != "text" && c.log_format != "json") {
    fail("log_format", "expected text or json, got " + quoted(c.log_format));
  }
  at_least("workers", c.workers, 0);
  at_least("max_sessions", c.max_sessions, 0);
  within("shutdown_grace", c.shutdown_grace, 0ms, 1h);
  within("drain_timeout", c.drain_timeout, 0ms, 1h);
  if (c.frontends.empty()) fail("frontends", "at least one frontend is required");
  std::map<std::string, std::string> names;
  for (std::size_t i = 0; i < c.frontends.size(); ++i) frontend(i, c.frontends[i], &names);
  if (!c.admin.listen.empty()) {
    if (const auto a = listen_address("admin.listen", c.admin.listen)) claim("admin.listen", *a);
  }
  if (!c.admin.metrics_listen.empty()) {
    if (const auto a = listen_address("admin.metrics_listen", c.admin.metrics_listen))
      claim("admin.metrics_listen", *a);
  }
}

}  // namespace

void fill_defaults(Config& config) {
  for (auto& f : config.frontends) {
    for (auto& b : f.backends) {
      if (b.name.empty()) b.name = b.address;
    }
  }
}

Diagnostics validate(const Config& config) {
  Checker checker(config);
  checker.run();
  return checker.take();
}

std::string normalise_address(const std::string& address) {
  const auto hp = parse_host_port(address);
  if (!hp) return address;
  bool ipv6 = false;
  const std::string ip = normalise_ip(hp->host, &ipv6);
  if (ip.empty()) return hp->to_string();
  return (ipv6 ? "[" + ip + "]" : ip) + ":" + std::to_string(hp->port);
}

std::string flag_key(const std::string& path) {
  const std::string f0 = "frontends[0]";
  if (path.rfind(f0 + ".listen", 0) == 0) return "--listen";
  if (path.rfind(f0 + ".backends", 0) == 0) return "--backend";
  if (path == f0 + ".health.kind") return "--health-check";
  if (path == f0 + ".balance") return "--balance";
  if (path == "admin.listen") return "--admin";
  if (path == "log_format") return "--log-format";
  if (path == "workers") return "--workers";
  return path;
}

}  // namespace kha::config
