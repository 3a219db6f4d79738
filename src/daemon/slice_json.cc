// EndpointSlice JSON: list replies, watch lines, ready backends (see slice_json.h).
#include "daemon/slice_json.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include <nlohmann/json.hpp>

namespace kha::daemon {
namespace {

// The string at j[path...] when every step has the type it must: a reply of the wrong
// shape is then an error the retry loop handles, never an exception that ends it.
const std::string* text_at(const nlohmann::json& root, std::initializer_list<const char*> path) {
  const nlohmann::json* j = &root;
  for (const char* key : path) {
    if (!j->is_object()) return nullptr;
    const auto it = j->find(key);
    if (it == j->end()) return nullptr;
    j = &*it;
  }
  return j->get_ptr<const std::string*>();
}

std::vector<HostPort> backends_of(const nlohmann::json& slice, int port_override) {
  std::vector<HostPort> out;
  if (!slice.is_object()) return out;
  int port = port_override;
  if (port == 0 && slice.contains("ports") && slice["ports"].is_array() && !slice["ports"].empty() &&
      slice["ports"][0].is_object() && slice["ports"][0].contains("port") &&
      slice["ports"][0]["port"].is_number_integer())
    port = slice["ports"][0]["port"].get<int>();
  if (port <= 0 || port > 65535 || !slice.contains("endpoints") || !slice["endpoints"].is_array()) return out;
  for (const auto& e : slice["endpoints"]) {
    if (!e.is_object()) continue;
    if (e.contains("conditions") && e["conditions"].is_object() && e["conditions"].contains("ready") &&
        e["conditions"]["ready"].is_boolean() && !e["conditions"]["ready"].get<bool>())
      continue;  // an apiserver that is shutting down or not yet ready
    if (!e.contains("addresses") || !e["addresses"].is_array()) continue;
    for (const auto& a : e["addresses"])
      if (a.is_string()) out.push_back(HostPort{a.get<std::string>(), static_cast<std::uint16_t>(port)});
  }
  return out;
}

}  // namespace

std::vector<HostPort> slice_backends(const std::string& text, int port_override) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  return backends_of(doc, port_override);
}

std::string read_slice_list(std::string_view text, int port_override, SliceMap* slices,
                            std::string* resource_version) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("items") || !doc["items"].is_array())
    return "not an EndpointSliceList";
  slices->clear();
  for (const auto& item : doc["items"])
    if (const auto* name = text_at(item, {"metadata", "name"})) (*slices)[*name] = backends_of(item, port_override);
  resource_version->clear();
  if (const auto* version = text_at(doc, {"metadata", "resourceVersion"})) *resource_version = *version;
  return {};
}

WatchStep apply_watch_line(std::string_view line, int port_override, SliceMap* slices, std::string* resource_version) {
  const auto event = nlohmann::json::parse(line, nullptr, false);
  const auto* kind = event.is_discarded() ? nullptr : text_at(event, {"type"});
  if (!kind || !event.contains("object") || !event["object"].is_object()) return {};
  const auto& object = event["object"];
  if (*kind == "ERROR") {
    const auto* message = text_at(object, {"message"});
    return {false, message ? *message : std::string("error event")};
  }
  if (const auto* version = text_at(object, {"metadata", "resourceVersion"})) *resource_version = *version;
  const auto* name = text_at(object, {"metadata", "name"});
  if (*kind == "BOOKMARK" || !name) return {};
  if (*kind == "DELETED") slices->erase(*name);
  else (*slices)[*name] = backends_of(object, port_override);
  return {true, {}};
}

std::vector<HostPort> all_backends(const SliceMap& slices) {
  std::set<std::string> seen;
  std::vector<HostPort> all;
  for (const auto& [_, list] : slices)
    for (const auto& b : list)
      if (seen.insert(b.to_string()).second) all.push_back(b);
  std::sort(all.begin(), all.end(), [](const HostPort& a, const HostPort& b) { return a.to_string() < b.to_string(); });
  return all;
}

}  // namespace kha::daemon
