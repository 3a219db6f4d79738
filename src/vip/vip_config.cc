// VipConfig: reading the vip: section (through config::YamlReader) and its rules (see vip_config.h).
#include "vip/vip_config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "common/address.h"
#include "common/duration.h"
#include "common/read_file.h"
#include "config/yaml_reader.h"

namespace kha::vip {
namespace {

using std::chrono::milliseconds;

const std::vector<std::string_view> kVipKeys = {"interface", "vrid",  "priority", "advert_interval",
                                                "preempt", "preempt_delay", "addresses", "peers",
                                                "source", "track", "admin"};
const std::vector<std::string_view> kTrackKeys = {"url", "weight", "interval", "timeout", "fall", "rise"};

// The vip: section through the config's YAML reader (config/yaml_reader.h): it records
// where every key is, so that validate()'s findings are placed at file:line:column too.
struct Parser {
  config::YamlReader& reader;

  // A list, or one scalar read as a list of one ("addresses: 10.0.0.1/24").
  std::vector<std::string> list(const YAML::Node& node, const std::string& key) {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      if (!node.Scalar().empty()) out.push_back(node.Scalar());
      return out;
    }
    for (const auto& e : reader.list_entries(node, key, "values"))
      if (std::string text; reader.read(e.value, e.path, &text)) out.push_back(text);
    return out;
  }

  void track(const YAML::Node& node, VipConfig* c) {
    TrackConfig t;
    bool has_url = false;
    if (!node.IsMap()) {
      reader.error(node, "vip.track", "expected a map with url, weight, interval, ...");
      return;
    }
    for (const auto& e : reader.map_entries(node, "vip.track", kTrackKeys)) {
      if (e.key == "url") {
        std::string url;
        if (reader.read(e.value, e.path, &url)) {
          has_url = true;
          if (std::string why = parse_track_url(url, &t); !why.empty()) reader.error(e.value, e.path, why);
        }
      } else if (e.key == "weight") reader.read(e.value, e.path, &t.weight);
      else if (e.key == "interval") reader.read(e.value, e.path, &t.interval);
      else if (e.key == "timeout") reader.read(e.value, e.path, &t.timeout);
      else if (e.key == "fall") reader.read(e.value, e.path, &t.fall);
      else if (e.key == "rise") reader.read(e.value, e.path, &t.rise);
    }
    if (!has_url) reader.error(node, "vip.track.url", "required: the local proxy's readiness URL, e.g. http://127.0.0.1:8081/readyz");
    c->track = t;
  }

  void section(const YAML::Node& vip, VipConfig* c) {
    if (!vip.IsMap()) {
      reader.error(vip, "vip", "expected a map (interface, vrid, priority, addresses, ...), got " + config::describe(vip));
      return;
    }
    for (const auto& e : reader.map_entries(vip, "vip", kVipKeys)) {
      const YAML::Node& v = e.value;
      const std::string& key = e.path;
      if (e.key == "interface") reader.read(v, key, &c->interface);
      else if (e.key == "vrid") reader.read(v, key, &c->vrid);
      else if (e.key == "priority") reader.read(v, key, &c->priority);
      else if (e.key == "advert_interval") reader.read(v, key, &c->advert_interval);
      else if (e.key == "preempt") reader.read(v, key, &c->preempt);
      else if (e.key == "preempt_delay") reader.read(v, key, &c->preempt_delay);
      else if (e.key == "addresses") {
        for (const auto& text : list(v, key)) {
          std::string why;
          if (auto p = parse_prefix(text, &why)) c->addresses.push_back(*p);
          else reader.error(v, key, why);
        }
      } else if (e.key == "peers") {
        for (const auto& text : list(v, key)) {
          if (auto ip = parse_ip(text)) c->peers.push_back(*ip);
          else reader.error(v, key, "expected an IP address, got \"" + text + "\"");
        }
      } else if (e.key == "source") {
        std::string text;
        if (reader.read(v, key, &text) && !text.empty()) {
          if (auto ip = parse_ip(text)) c->source = *ip;
          else reader.error(v, key, "expected an IP address, got \"" + text + "\"");
        }
      } else if (e.key == "track") track(v, c);
      else if (e.key == "admin") reader.read(v, key, &c->admin);
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
  config::YamlReader reader(file);
  Parser p{reader};
  VipConfig c;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["vip"]) return Diagnostic{file, 0, 0, "vip", "missing section: the file has no top-level vip: mapping"};
    p.section(root["vip"], &c);
  } catch (const YAML::Exception& e) {
    return Diagnostic{file, e.mark.line + 1, e.mark.column + 1, "", "invalid YAML: " + e.msg};
  }
  if (Diagnostics errors = reader.take_diagnostics(); !errors.empty()) return errors;
  Diagnostics d = validate(c, file);
  for (auto& e : d) reader.place(&e);  // at the offending value, or at its section for a missing key
  if (!d.empty()) return d;
  return c;
}

Result<VipConfig> load_vip_config(const std::string& path) {
  const auto text = read_file(path);
  if (!text) return Diagnostic{path, 0, 0, "", "cannot read the file"};
  return parse_vip_yaml(*text, path);
}

}  // namespace kha::vip
