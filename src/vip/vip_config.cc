#include "vip/vip_config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/address.h"
#include "common/duration.h"

namespace kha::vip {
namespace {

using std::chrono::milliseconds;

struct Parser {
  std::string file;
  Diagnostics errors;
  std::map<std::string, YAML::Mark> marks;  // key path -> where its value is

  void error(const YAML::Node& node, const std::string& key, const std::string& message) {
    YAML::Mark m = node.Mark();
    errors.push_back({file, m.line + 1, m.column + 1, key, message});
  }
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) {
      error(node, key, "expected a single value");
      return std::nullopt;
    }
    return node.Scalar();
  }
  void integer(const YAML::Node& node, const std::string& key, int* out) {
    auto s = scalar(node, key);
    if (!s) return;
    int v = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || end != s->data() + s->size()) return error(node, key, "expected an integer, got \"" + *s + "\"");
    *out = v;
  }
  void boolean(const YAML::Node& node, const std::string& key, bool* out) {
    auto s = scalar(node, key);
    if (!s) return;
    if (*s == "true") *out = true;
    else if (*s == "false") *out = false;
    else error(node, key, "expected true or false, got \"" + *s + "\"");
  }
  void duration(const YAML::Node& node, const std::string& key, milliseconds* out) {
    auto s = scalar(node, key);
    if (!s) return;
    DurationProblem problem{};
    auto d = parse_duration(*s, &problem);
    if (!d) return error(node, key, to_string(problem) + ", got \"" + *s + "\"");
    *out = *d;
  }
  std::vector<std::string> list(const YAML::Node& node, const std::string& key) {
    std::vector<std::string> out;
    if (node.IsScalar() && !node.Scalar().empty()) return {node.Scalar()};
    if (node.IsNull() || (node.IsScalar() && node.Scalar().empty())) return out;
    if (!node.IsSequence()) {
      error(node, key, "expected a list");
      return out;
    }
    for (std::size_t i = 0; i < node.size(); ++i)
      if (auto s = scalar(node[i], key + "[" + std::to_string(i) + "]")) out.push_back(*s);
    return out;
  }

  void track(const YAML::Node& node, VipConfig* c) {
    if (!node.IsMap()) return error(node, "vip.track", "expected a mapping with url, weight, interval, ...");
    TrackConfig t;
    bool has_url = false;
    for (const auto& kv : node) {
      std::string k = kv.first.as<std::string>();
      std::string key = "vip.track." + k;
      marks[key] = kv.second.Mark();
      const YAML::Node& v = kv.second;
      if (k == "url") {
        if (auto s = scalar(v, key)) {
          has_url = true;
          if (std::string why = parse_track_url(*s, &t); !why.empty()) error(v, key, why);
        }
      } else if (k == "weight") integer(v, key, &t.weight);
      else if (k == "interval") duration(v, key, &t.interval);
      else if (k == "timeout") duration(v, key, &t.timeout);
      else if (k == "fall") integer(v, key, &t.fall);
      else if (k == "rise") integer(v, key, &t.rise);
      else error(kv.first, key, "unknown key (expected url, weight, interval, timeout, fall, rise)");
    }
    if (!has_url) error(node, "vip.track.url", "required: the local proxy's readiness URL, e.g. http://127.0.0.1:8081/readyz");
    c->track = t;
  }

  void section(const YAML::Node& vip, VipConfig* c) {
    if (!vip.IsMap()) return error(vip, "vip", "expected a mapping (interface, vrid, priority, addresses, ...)");
    for (const auto& kv : vip) {
      std::string k = kv.first.as<std::string>();
      std::string key = "vip." + k;
      marks[key] = kv.second.Mark();
      const YAML::Node& v = kv.second;
      if (k == "interface") {
        if (auto s = scalar(v, key)) c->interface = *s;
      } else if (k == "vrid") integer(v, key, &c->vrid);
      else if (k == "priority") integer(v, key, &c->priority);
      else if (k == "advert_interval") duration(v, key, &c->advert_interval);
      else if (k == "preempt") boolean(v, key, &c->preempt);
      else if (k == "preempt_delay") duration(v, key, &c->preempt_delay);
      else if (k == "addresses") {
        for (const auto& s : list(v, key)) {
          std::string why;
          if (auto p = parse_prefix(s, &why)) c->addresses.push_back(*p);
          else error(v, key, why);
        }
      } else if (k == "peers") {
        for (const auto& s : list(v, key)) {
          if (auto ip = parse_ip(s)) c->peers.push_back(*ip);
          else error(v, key, "expected an IP address, got \"" + s + "\"");
        }
      } else if (k == "source") {
        if (auto s = scalar(v, key); s && !s->empty()) {
          if (auto ip = parse_ip(*s)) c->source = *ip;
          else error(v, key, "expected an IP address, got \"" + *s + "\"");
        }
      } else if (k == "track") track(v, c);
      else if (k == "admin") {
        if (auto s = scalar(v, key)) c->admin = *s;
      } else {
        error(kv.first, key,
              "unknown key (expected interface, vrid, priority, advert_interval, preempt, preempt_delay, "
              "addresses, peers, source, track, admin)");
      }
    }
  }
};

void need(Diagnostics* out, const std::string& file, bool ok, const std::string& key, const std::string& message) {
  if (!ok) out->push_back({file, 0, 0, key, message});
}

}  // namespace

std::string parse_track_url(const std::string& url, TrackConfig* out) {
  const std::string scheme = "http://";
  const std::string expected = "expected http://HOST:PORT/PATH with an IP literal host, e.g. http://127.0.0.1:8081/readyz, got \"" + url + "\"";
  if (url.rfind(scheme, 0) != 0) return expected;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out->path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find(':') == std::string::npos || authority.back() == ']') authority += ":80";
  auto hp = parse_host_port(authority);
  if (!hp || !parse_ip(hp->host)) return expected;
  out->url = url;
  out->host = hp->host;
  out->port = hp->port;
  return "";
}

Diagnostics validate(const VipConfig& c, const std::string& file) {
  Diagnostics d;
  need(&d, file, !c.interface.empty() && c.interface.size() < 16, "vip.interface", "required: a network interface name (under 16 characters)");
  need(&d, file, c.vrid >= 1 && c.vrid <= 255, "vip.vrid", "must be 1-255, got " + std::to_string(c.vrid));
  need(&d, file, c.priority >= 1 && c.priority <= 255, "vip.priority",
       "must be 1-254 (or 255 for the address owner), got " + std::to_string(c.priority));
  auto ai = c.advert_interval.count();
  need(&d, file, ai >= 10 && ai <= 40950 && ai % 10 == 0, "vip.advert_interval",
       "must be 10ms-40950ms in whole centiseconds, got " + format_duration(c.advert_interval));
  need(&d, file, c.preempt_delay.count() >= 0 && c.preempt_delay <= std::chrono::hours(1), "vip.preempt_delay",
       "must be 0s-1h, got " + format_duration(c.preempt_delay));
  need(&d, file, !c.addresses.empty() && c.addresses.size() <= 255, "vip.addresses", "required: 1-255 virtual addresses ADDR/LEN");
  std::set<IpAddress> seen;
  for (const auto& p : c.addresses) {
    need(&d, file, p.address.family == c.family(), "vip.addresses",
         "all addresses must be IPv4 or all IPv6 (run one instance per family), got " + p.to_string());
    need(&d, file, seen.insert(p.address).second, "vip.addresses", "duplicate address " + p.to_string());
    need(&d, file, !p.address.is_ipv6_link_local(), "vip.addresses", "a link-local address cannot be virtual: " + p.to_string());
  }
  for (const auto& p : c.peers) {
    need(&d, file, p.family == c.family(), "vip.peers", "a peer must have the addresses' family, got " + p.to_string());
    need(&d, file, !p.is_multicast(), "vip.peers", "a peer must be a unicast address, got " + p.to_string());
  }
  if (c.source) need(&d, file, c.source->family == c.family(), "vip.source", "must have the addresses' family, got " + c.source->to_string());
  if (c.track) {
    const TrackConfig& t = *c.track;
    need(&d, file, c.priority != 255, "vip.track", "the address owner (priority 255) cannot be tracked; use priority 1-254");
    need(&d, file, t.weight >= 0 && t.weight <= 254, "vip.track.weight",
         "must be 0 (give up mastership) or 1-254 (priority lost while failing), got " + std::to_string(t.weight));
    need(&d, file, t.interval >= milliseconds(100) && t.interval <= std::chrono::hours(1), "vip.track.interval",
         "must be 100ms-1h, got " + format_duration(t.interval));
    need(&d, file, t.timeout >= milliseconds(10) && t.timeout <= std::chrono::hours(1), "vip.track.timeout",
         "must be 10ms-1h, got " + format_duration(t.timeout));
    need(&d, file, t.fall >= 1 && t.fall <= 100, "vip.track.fall", "must be 1-100, got " + std::to_string(t.fall));
    need(&d, file, t.rise >= 1 && t.rise <= 100, "vip.track.rise", "must be 1-100, got " + std::to_string(t.rise));
  }
  if (!c.admin.empty()) {
    std::string why;
    need(&d, file, parse_host_port(c.admin, &why).has_value(), "vip.admin", "expected HOST:PORT, got \"" + c.admin + "\"");
  }
  return d;
}

Result<VipConfig> parse_vip_yaml(const std::string& text, const std::string& file) {
  Parser p{file, {}, {}};
  VipConfig c;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["vip"]) return Diagnostic{file, 0, 0, "vip", "missing section: the file has no top-level vip: mapping"};
    p.marks["vip"] = root["vip"].Mark();
    p.section(root["vip"], &c);
  } catch (const YAML::Exception& e) {
    return Diagnostic{file, e.mark.line + 1, e.mark.column + 1, "", "invalid YAML: " + e.msg};
  }
  if (!p.errors.empty()) return p.errors;
  Diagnostics d = validate(c, file);
  for (auto& e : d) {
    // Point at the offending value, or at the vip: section for a missing key.
    std::string key = e.key;
    auto it = p.marks.find(key);
    if (it == p.marks.end()) it = p.marks.find(key.substr(0, key.rfind('.')));
    if (it != p.marks.end()) {
      e.line = it->second.line + 1;
      e.column = it->second.column + 1;
    }
  }
  if (!d.empty()) return d;
  return c;
}

Result<VipConfig> load_vip_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Diagnostic{path, 0, 0, "", "cannot read the file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_vip_yaml(ss.str(), path);
}

}  // namespace kha::vip
