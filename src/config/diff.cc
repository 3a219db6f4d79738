// diff(): per-key comparison tables for frontends and the config, listener/backend sets, the reload summary.
#include "config/diff.h"

#include <algorithm>
#include <functional>

#include "config/validate.h"

namespace kha::config {
namespace {

// What a frontend key touches (FrontendDiff's *_changed flags); Config keys use None.
enum class Part { None, DataPath, Checks, Discovery };

template <class S>
struct Setting {
  const char* key;
  std::function<bool(const S&, const S&)> same;
  Part part = Part::None;
};

// A row comparing one member reached by `get`.
template <class S, class Get>
Setting<S> setting(const char* key, Get get, Part part = Part::None) {
  return {key, [get](const S& a, const S& b) { return get(a) == get(b); }, part};
}

const std::vector<Setting<Frontend>>& frontend_settings() {
  using F = Frontend;
  static const std::vector<Setting<F>> rows = {
      setting<F>("balance", [](const F& f) { return f.balance; }, Part::DataPath),
      setting<F>("client_first", [](const F& f) { return f.client_first; }, Part::DataPath),
      setting<F>("close_sessions_on_down", [](const F& f) { return f.close_sessions_on_down; }, Part::Checks),
      setting<F>("close_on_down_spread", [](const F& f) { return f.close_on_down_spread; }, Part::DataPath),
      setting<F>("max_connect_attempts", [](const F& f) { return f.max_connect_attempts; }, Part::DataPath),
      setting<F>("max_sessions", [](const F& f) { return f.max_sessions; }, Part::DataPath),
      setting<F>("slow_start", [](const F& f) { return f.slow_start; }, Part::DataPath),
      // Restarting the checkers re-resolves every named backend at the new interval.
      setting<F>("resolve_interval", [](const F& f) { return f.resolve_interval; }, Part::Checks),
      setting<F>("timeouts.connect", [](const F& f) { return f.timeouts.connect; }, Part::DataPath),
      setting<F>("timeouts.client_idle", [](const F& f) { return f.timeouts.client_idle; }, Part::DataPath),
      setting<F>("timeouts.server_idle", [](const F& f) { return f.timeouts.server_idle; }, Part::DataPath),
      setting<F>("hedge.connect_delay", [](const F& f) { return f.hedge.connect_delay; }, Part::DataPath),
      setting<F>("hedge.first_byte_delay", [](const F& f) { return f.hedge.first_byte_delay; }, Part::DataPath),
      setting<F>("hedge.first_bytes_max", [](const F& f) { return f.hedge.first_bytes_max; }, Part::DataPath),
      setting<F>("hedge.replay", [](const F& f) { return f.hedge.replay; }, Part::DataPath),
      setting<F>("hedge.budget_percent", [](const F& f) { return f.hedge.budget_percent; }, Part::DataPath),
      setting<F>("rebalance.enabled", [](const F& f) { return f.rebalance.enabled; }, Part::DataPath),
      setting<F>("rebalance.max_skew_percent", [](const F& f) { return f.rebalance.max_skew_percent; }, Part::DataPath),
      setting<F>("rebalance.rate_percent", [](const F& f) { return f.rebalance.rate_percent; }, Part::DataPath),
      setting<F>("rebalance.settle", [](const F& f) { return f.rebalance.settle; }, Part::DataPath),
      setting<F>("rebalance.quiet", [](const F& f) { return f.rebalance.quiet; }, Part::DataPath),
      setting<F>("health.kind", [](const F& f) { return f.health.kind; }, Part::Checks),
      setting<F>("health.interval", [](const F& f) { return f.health.interval; }, Part::Checks),
      setting<F>("health.transition_interval", [](const F& f) { return f.health.transition_interval; }, Part::Checks),
      setting<F>("health.down_interval", [](const F& f) { return f.health.down_interval; }, Part::Checks),
      setting<F>("health.down_interval_max", [](const F& f) { return f.health.down_interval_max; }, Part::Checks),
      setting<F>("health.timeout", [](const F& f) { return f.health.timeout; }, Part::Checks),
      setting<F>("health.rise", [](const F& f) { return f.health.rise; }, Part::Checks),
      setting<F>("health.fall", [](const F& f) { return f.health.fall; }, Part::Checks),
      setting<F>("health.jitter", [](const F& f) { return f.health.jitter; }, Part::Checks),
      setting<F>("health.fresh_connect_interval", [](const F& f) { return f.health.fresh_connect_interval; }, Part::Checks),
      setting<F>("health.path", [](const F& f) { return f.health.path; }, Part::Checks),
      setting<F>("health.expect_status", [](const F& f) { return f.health.expect_status; }, Part::Checks),
      setting<F>("health.tls.verify", [](const F& f) { return f.health.tls.verify; }, Part::Checks),
      setting<F>("health.tls.ca_file", [](const F& f) { return f.health.tls.ca_file; }, Part::Checks),
      setting<F>("health.tls.server_name", [](const F& f) { return f.health.tls.server_name; }, Part::Checks),
      setting<F>("health.tls.cert_file", [](const F& f) { return f.health.tls.cert_file; }, Part::Checks),
      setting<F>("health.tls.key_file", [](const F& f) { return f.health.tls.key_file; }, Part::Checks),
      setting<F>("discovery.kubeconfig", [](const F& f) { return f.discovery.kubeconfig; }, Part::Discovery),
      setting<F>("discovery.port", [](const F& f) { return f.discovery.port; }, Part::Discovery),
      setting<F>("discovery.state_file", [](const F& f) { return f.discovery.state_file; }, Part::Discovery),
      setting<F>("discovery.retry", [](const F& f) { return f.discovery.retry; }, Part::Discovery),
  };
  return rows;
}

const std::vector<Setting<Config>>& config_settings() {
  using C = Config;
  static const std::vector<Setting<C>> rows = {
      setting<C>("log_format", [](const C& c) { return c.log_format; }),
      setting<C>("workers", [](const C& c) { return c.workers; }),
      setting<C>("max_sessions", [](const C& c) { return c.max_sessions; }),
      setting<C>("splice", [](const C& c) { return c.splice; }),
      setting<C>("shutdown_grace", [](const C& c) { return c.shutdown_grace; }),
      setting<C>("drain_timeout", [](const C& c) { return c.drain_timeout; }),
      setting<C>("admin.listen", [](const C& c) { return c.admin.listen; }),
      setting<C>("admin.metrics_listen", [](const C& c) { return c.admin.metrics_listen; }),
  };
  return rows;
}

std::string normalise(const std::string& address) { return normalise_address(address); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Items of `a` (by key) that are not in `b`, in `a`'s order.
template <class T, class Key>
std::vector<std::string> missing(const std::vector<T>& a, const std::vector<T>& b, Key key) {
  std::vector<std::string> keys_b, out;
  for (const auto& x : b) keys_b.push_back(key(x));
  for (const auto& x : a) {
    if (!contains(keys_b, key(x)) && !contains(out, key(x))) out.push_back(key(x));
  }
  return out;
}

}  // namespace

FrontendDiff diff(const Frontend& a, const Frontend& b) {
  FrontendDiff d;
  d.name = b.name;
  const auto addr = [](const std::string& s) { return normalise(s); };
  d.listeners_added = missing(b.listen, a.listen, addr);
  d.listeners_removed = missing(a.listen, b.listen, addr);
  const auto name = [](const Backend& x) { return x.name.empty() ? x.address : x.name; };
  d.backends_added = missing(b.backends, a.backends, name);
  d.backends_removed = missing(a.backends, b.backends, name);
  for (const auto& nb : b.backends) {
    for (const auto& ob : a.backends) {
      if (name(ob) == name(nb) && normalise(ob.address) != normalise(nb.address)) {
        d.backends_changed.push_back(name(nb));
      }
    }
  }
  for (const auto& row : frontend_settings()) {
    if (row.same(a, b)) continue;
    d.settings_changed.push_back(row.key);
    d.checks_changed |= row.part == Part::Checks;
    d.discovery_changed |= row.part == Part::Discovery;
    d.data_path_changed |= row.part == Part::DataPath;
  }
  return d;
}

namespace {

void append_list(std::string* out, const char* label, const std::vector<std::string>& plus,
                 const std::vector<std::string>& minus, const std::vector<std::string>& changed = {}) {
  if (plus.empty() && minus.empty() && changed.empty()) return;
  if (out->back() != ' ') *out += ", ";
  *out += label;
  for (const auto& s : plus) *out += " +" + s;
  for (const auto& s : minus) *out += " -" + s;
  for (const auto& s : changed) *out += " ~" + s;
}

}  // namespace

bool FrontendDiff::empty() const {
  return listeners_added.empty() && listeners_removed.empty() && backends_added.empty() &&
         backends_removed.empty() && backends_changed.empty() && settings_changed.empty();
}

bool ConfigDiff::empty() const {
  return frontends_added.empty() && frontends_removed.empty() && frontends_changed.empty() &&
         settings_changed.empty();
}

std::string ConfigDiff::summary() const {
  if (empty()) return "no changes";
  std::vector<std::string> parts;
  if (!frontends_added.empty() || !frontends_removed.empty()) {
    std::string s = "frontends";
    for (const auto& n : frontends_added) s += " +" + n;
    for (const auto& n : frontends_removed) s += " -" + n;
    parts.push_back(s);
  }
  if (!settings_changed.empty()) {
    std::string s = "settings";
    for (const auto& k : settings_changed) s += ' ' + k;
    parts.push_back(s);
  }
  for (const auto& f : frontends_changed) {
    std::string s = f.name + ": ";
    append_list(&s, "listeners", f.listeners_added, f.listeners_removed);
    append_list(&s, "backends", f.backends_added, f.backends_removed, f.backends_changed);
    if (!f.settings_changed.empty()) {
      if (s.back() != ' ') s += ", ";
      s += "settings";
      for (const auto& k : f.settings_changed) s += ' ' + k;
    }
    parts.push_back(s);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

ConfigDiff diff(const Config& old_config, const Config& new_config) {
  ConfigDiff d;
  const auto name = [](const Frontend& f) { return f.name; };
  d.frontends_added = missing(new_config.frontends, old_config.frontends, name);
  d.frontends_removed = missing(old_config.frontends, new_config.frontends, name);
  for (const auto& nf : new_config.frontends) {
    for (const auto& of : old_config.frontends) {
      if (of.name != nf.name) continue;
      FrontendDiff fd = diff(of, nf);
      if (!fd.empty()) d.frontends_changed.push_back(std::move(fd));
      break;
    }
  }
  for (const auto& row : config_settings()) {
    if (!row.same(old_config, new_config)) d.settings_changed.push_back(row.key);
  }
  return d;
}

}  // namespace kha::config
