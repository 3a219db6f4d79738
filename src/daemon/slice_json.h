// EndpointSlice JSON as discovery reads it: a list reply, watch event lines, and the
// ready backends one slice names. Pure: text in, HostPorts out; a reply of the wrong shape
// is an error value, never an exception.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"

namespace kha::daemon {

// The backends of the default/kubernetes service, by slice name.
using SliceMap = std::map<std::string, std::vector<HostPort>>;

// The backends an EndpointSlice names: ready endpoints, with `port_override` (0 = the
// slice's first port). IPv6 addresses are kept bare in HostPort::host.
std::vector<HostPort> slice_backends(const std::string& slice_json_text, int port_override);

// An EndpointSliceList reply: replaces *slices and *resource_version ("" when the list has
// none). Returns "" or why not ("not an EndpointSliceList").
std::string read_slice_list(std::string_view text, int port_override, SliceMap* slices,
                            std::string* resource_version);

struct WatchStep {
  bool changed = false;  // *slices changed: report the set (once the burst is over)
  std::string error;     // an ERROR event: its message; the watch must start over
};

// One line of a watch stream ({"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}).
// Lines that are not events are skipped; every event with a resourceVersion moves it on.
WatchStep apply_watch_line(std::string_view line, int port_override, SliceMap* slices, std::string* resource_version);

// Every backend of every slice once, sorted by "host:port".
std::vector<HostPort> all_backends(const SliceMap& slices);

}  // namespace kha::daemon
