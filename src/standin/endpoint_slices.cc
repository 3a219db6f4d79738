// EndpointSlices from the endpoints file: parsing, slice and list JSON, watch events between two reads.
#include "standin/endpoint_slices.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace kha::standin {
namespace {

nlohmann::json event(const char* type, const nlohmann::json& object) {
  return nlohmann::json{{"type", type}, {"object", object}};
}

std::string name_of(const nlohmann::json& slice) { return slice["metadata"]["name"].get<std::string>(); }

}  // namespace

Result<std::vector<HostPort>> parse_endpoints(const std::string& text, const std::string& file) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array())
    return Diagnostic{file, 0, 0, "", "expected a JSON list of \"ip:port\" strings"};
  std::vector<HostPort> out;
  Diagnostics errors;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const std::string key = "[" + std::to_string(i) + "]";
    if (!doc[i].is_string()) {
      errors.push_back(Diagnostic{file, 0, 0, key, "expected a string \"ip:port\""});
      continue;
    }
    std::string why;
    auto hp = parse_host_port(doc[i].get<std::string>(), &why);
    if (!hp) errors.push_back(Diagnostic{file, 0, 0, key, why});
    else if (!is_ipv4_literal(hp->host) && !is_ipv6_literal(hp->host))
      errors.push_back(Diagnostic{file, 0, 0, key, "expected an IP address, got " + hp->host});
    else out.push_back(*hp);
  }
  if (!errors.empty()) return errors;
  return out;
}

std::vector<nlohmann::json> make_slices(const std::vector<HostPort>& endpoints, std::uint64_t rv) {
  // (ipv6, port) -> addresses, in first-seen order of groups.
  std::vector<std::pair<std::pair<bool, std::uint16_t>, std::vector<std::string>>> groups;
  for (const auto& e : endpoints) {
    const auto key = std::make_pair(e.is_ipv6_literal(), e.port);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, {}});
    it->second.push_back(e.host);
  }
  std::vector<nlohmann::json> out;
  std::map<bool, int> per_family;
  for (const auto& [key, addresses] : groups) {
    const auto [ipv6, port] = key;
    std::string name = ipv6 ? "kubernetes-ipv6" : "kubernetes";
    if (per_family[ipv6]++ > 0) name += "-" + std::to_string(port);
    nlohmann::json eps = nlohmann::json::array();
    for (const auto& a : addresses)
      eps.push_back({{"addresses", {a}}, {"conditions", {{"ready", true}, {"serving", true}, {"terminating", false}}}});
    out.push_back({{"kind", "EndpointSlice"},
                   {"apiVersion", "discovery.k8s.io/v1"},
                   {"metadata",
                    {{"name", name},
                     {"namespace", "default"},
                     {"resourceVersion", std::to_string(rv)},
                     {"labels", {{"kubernetes.io/service-name", "kubernetes"}}}}},
                   {"addressType", ipv6 ? "IPv6" : "IPv4"},
                   {"endpoints", eps},
                   {"ports", {{{"name", "https"}, {"protocol", "TCP"}, {"port", port}}}}});
  }
  return out;
}

nlohmann::json make_slice_list(const std::vector<nlohmann::json>& slices, std::uint64_t rv) {
  return {{"kind", "EndpointSliceList"},
          {"apiVersion", "discovery.k8s.io/v1"},
          {"metadata", {{"resourceVersion", std::to_string(rv)}}},
          {"items", slices}};
}

EndpointSource::Snapshot EndpointSource::read() {
  Snapshot snap;
  if (file_.empty()) {
    snap.resource_version = resource_version_;
    snap.slices = make_slices(fallback_, resource_version_);
    return snap;
  }
  std::ifstream in(file_);
  if (!in) {
    snap.error = file_ + ": cannot read the endpoints file";
    return snap;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str() != last_text_) {
    if (!last_text_.empty()) ++resource_version_;
    last_text_ = text.str();
  }
  snap.resource_version = resource_version_;
  auto parsed = parse_endpoints(last_text_, file_);
  if (!parsed) {
    snap.error = format_diagnostics(parsed.errors());
    return snap;
  }
  snap.slices = make_slices(parsed.value(), resource_version_);
  return snap;
}

std::string slice_events(const std::vector<nlohmann::json>& before, const std::vector<nlohmann::json>& after) {
  std::map<std::string, const nlohmann::json*> old;
  for (const auto& s : before) old[name_of(s)] = &s;
  std::string out;
  for (const auto& s : after) {
    const auto it = old.find(name_of(s));
    if (it == old.end()) {
      out += event("ADDED", s).dump() + "\n";
      continue;
    }
    // Compare without resourceVersion, which changes on every edit of the file.
    nlohmann::json a = *it->second, b = s;
    a["metadata"].erase("resourceVersion");
    b["metadata"].erase("resourceVersion");
    if (a != b) out += event("MODIFIED", s).dump() + "\n";
    old.erase(it);
  }
  for (const auto& [name, s] : old) {
    nlohmann::json gone = *s;
    if (!after.empty()) gone["metadata"]["resourceVersion"] = after.front()["metadata"]["resourceVersion"];
    out += event("DELETED", gone).dump() + "\n";
  }
  return out;
}

}  // namespace kha::standin
