// The /backends document: to_json for the daemon, parse_backends_json and render_table for `kha status`.
#include "admin/backends_view.h"

#include <cstdio>
#include <iterator>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "pool/backend.h"

namespace kha::admin {
namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;  // output keeps the documented key order

ordered check_json(const std::optional<CheckResultView>& c) {
  if (!c) return nullptr;
  return {{"ok", c->ok}, {"layer", c->layer}, {"reason", c->reason}, {"latency_ms", c->latency_ms},
          {"age_ms", c->age_ms}};
}

template <class T>
T get(const json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}

std::string millis(double ms) {
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  } else if (ms < 120'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fm", ms / 60'000);
  }
  return buf;
}

std::string age(double ms) {
  if (ms < 1000) return std::to_string(static_cast<long long>(ms)) + "ms ago";
  return millis(ms) + " ago";
}

ordered ages_json(const std::vector<std::pair<std::string, std::int64_t>>& ages) {
  ordered out = ordered::object();
  for (const auto& [label, n] : ages) out[label] = n;
  return out;
}

// "950", "1.5k", "12.0M": bytes per second, at most "999.9T".
std::string rate(double per_second) {
  // What a broken or hostile endpoint may send (kha status reads any): not a rate.
  if (!(per_second >= 0)) return "?";
  if (per_second >= 1e15) return ">999T";
  const char* units[] = {"", "k", "M", "G", "T"};
  std::size_t u = 0;
  while (per_second >= 1000 && u + 1 < std::size(units)) per_second /= 1000, ++u;
  char text[32];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f%s" : "%.1f%s", per_second, units[u]);
  return text;
}

// "12/3/0/0/0": the counts alone, in the order of the column's title.
std::string ages_cell(const BackendView& b) {
  if (b.session_ages.empty()) return "-";
  std::string out;
  for (const auto& [label, n] : b.session_ages) out += (out.empty() ? "" : "/") + std::to_string(n);
  return out;
}

}  // namespace

std::string to_json(const BackendsView& view) {
  ordered frontends = ordered::array();
  for (const auto& f : view.frontends) {
    ordered backends = ordered::array();
    for (const auto& b : f.backends) {
      backends.push_back({{"name", b.name},
                          {"address", b.address},
                          {"state", b.state},
                          {"check", b.check},
                          {"last_check", check_json(b.last_check)},
                          {"active_sessions", b.active_sessions},
                          {"sessions_total", b.sessions_total},
                          {"connect_failures", b.connect_failures},
                          {"mean_session_age_s", b.mean_session_age_s},
                          {"slow_start_share", b.slow_start_share},
                          {"bytes_per_s", b.bytes_per_s}});
      if (!b.session_ages.empty()) backends.back()["session_ages"] = ages_json(b.session_ages);
      if (!b.resolved.empty()) backends.back()["resolved"] = b.resolved;
    }
    frontends.push_back({{"name", f.name}, {"listen", f.listen}, {"all_down", f.all_down}, {"backends", backends},
                         {"session_skew", f.session_skew}});
  }
  return json_text(ordered{{"frontends", frontends}});
}

std::optional<BackendsView> parse_backends_json(std::string_view text, std::string* why) {
  try {
    const json doc = json::parse(text);
    BackendsView view;
    for (const auto& jf : doc.at("frontends")) {
      FrontendView f;
      f.name = get<std::string>(jf, "name", "");
      f.listen = get<std::vector<std::string>>(jf, "listen", {});
      f.all_down = get<bool>(jf, "all_down", false);
      f.session_skew = get<double>(jf, "session_skew", 1);
      for (const auto& jb : jf.value("backends", json::array())) {
        BackendView b;
        b.name = get<std::string>(jb, "name", "");
        b.address = get<std::string>(jb, "address", "");
        if (const auto it = jb.find("resolved"); it != jb.end() && it->is_array())
          for (const auto& a : *it)
            if (a.is_string()) b.resolved.push_back(a.get<std::string>());
        b.state = get<std::string>(jb, "state", "");
        b.check = get<std::string>(jb, "check", "");
        if (const auto it = jb.find("last_check"); it != jb.end() && it->is_object()) {
          CheckResultView c;
          c.ok = get<bool>(*it, "ok", false);
          c.layer = get<std::string>(*it, "layer", "");
          c.reason = get<std::string>(*it, "reason", "");
          c.latency_ms = get<double>(*it, "latency_ms", 0);
          c.age_ms = get<double>(*it, "age_ms", 0);
          b.last_check = c;
        }
        b.active_sessions = get<std::uint64_t>(jb, "active_sessions", 0);
        b.sessions_total = get<std::uint64_t>(jb, "sessions_total", 0);
        b.connect_failures = get<std::uint64_t>(jb, "connect_failures", 0);
        b.mean_session_age_s = get<double>(jb, "mean_session_age_s", 0);
        b.slow_start_share = get<double>(jb, "slow_start_share", 1);
        b.bytes_per_s = get<double>(jb, "bytes_per_s", 0);
        if (const auto it = jb.find("session_ages"); it != jb.end() && it->is_object())
          for (const char* label : pool::kSessionAgeLabels)  // youngest first: the parsed object is sorted by key
            if (const auto n = it->find(label); n != it->end() && n->is_number_integer())
              b.session_ages.emplace_back(label, n->get<std::int64_t>());
        f.backends.push_back(std::move(b));
      }
      view.frontends.push_back(std::move(f));
    }
    return view;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

namespace {

// "apiserver.example:6443 (10.0.0.1, 10.0.0.2)": a name with what it resolved to (at
// most three shown: the cell stays a cell whatever the endpoint sent).
std::string address_cell(const BackendView& b) {
  if (b.resolved.empty()) return b.address;
  std::string out = b.address + " (";
  for (std::size_t i = 0; i < b.resolved.size() && i < 3; ++i) out += (i ? ", " : "") + b.resolved[i].substr(0, 45);
  if (b.resolved.size() > 3) out += ", +" + std::to_string(b.resolved.size() - 3);
  return out + ")";
}

}  // namespace

std::string render_table(const BackendsView& view) {
  using Row = std::vector<std::string>;
  std::vector<Row> rows = {
      {"FRONTEND", "BACKEND", "ADDRESS", "STATE", "CHECK", "LAST CHECK", "LATENCY", "AGE", "ACTIVE", "TOTAL",
       "CONNECT FAILURES", "SESSION AGE", "BYTES/S", "AGES 1m/10m/1h/6h/+"}};
  for (const auto& f : view.frontends) {
    for (const auto& b : f.backends) {
      std::string result = "-", latency = "-", when = "-";
      if (b.last_check) {
        const auto& c = *b.last_check;
        if (c.ok) {
          result = "ok";
        } else {
          result = c.layer.empty() ? "failed" : c.layer;
          if (!c.reason.empty()) result += ": " + c.reason;
        }
        latency = millis(c.latency_ms);
        when = age(c.age_ms);
      }
      rows.push_back({f.name, b.name, address_cell(b), b.state, b.check, result, latency, when,
                      std::to_string(b.active_sessions), std::to_string(b.sessions_total),
                      std::to_string(b.connect_failures),
                      b.active_sessions ? "~" + millis(b.mean_session_age_s * 1000) : "-", rate(b.bytes_per_s),
                      ages_cell(b)});
    }
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + '\n';
  }
  for (const auto& f : view.frontends) {
    if (f.all_down) out += "frontend " + f.name + ": every backend is down; connections try all of them\n";
    if (f.backends.empty()) out += "frontend " + f.name + ": no backends\n";
    for (const auto& b : f.backends)
      if (b.slow_start_share < 1) {
        char share[16];
        std::snprintf(share, sizeof share, "%.0f%%", b.slow_start_share * 100);
        out += "frontend " + f.name + ": " + b.name + " is in its slow start, offered " + share + " of new sessions\n";
      }
    if (f.session_skew > 1.2) {
      char skew[16];
      std::snprintf(skew, sizeof skew, "%.2f", f.session_skew);
      out += "frontend " + f.name + ": sessions skewed " + skew + "x (fullest / emptiest healthy backend)\n";
    }
  }
  return out;
}

}  // namespace kha::admin
