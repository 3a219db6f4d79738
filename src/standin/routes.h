// The stand-in apiserver's URL space: health endpoints, /version, a pod list and its
// watch, EndpointSlices, and the /_standin/ control endpoints. Pure apart from the
// endpoints file read through EndpointSource.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "standin/endpoint_slices.h"
#include "standin/http.h"
#include "standin/state.h"

namespace kha::standin {

enum class StreamKind { None, Pods, EndpointSlices };

// What to do with one request. Control changes are applied by the server after
// `response` has been written, so the caller's own connection gets its answer.
struct Reply {
  Response response;
  StreamKind stream = StreamKind::None;   // when set, response is ignored: start a watch stream
  std::optional<Mode> set_mode;   // from POST /_standin/mode
};

// Answers `request`; may change state.ready (POST /_standin/readyz).
Reply route(const Request& request, State& state, EndpointSource& endpoints);

// One pod watch event line (newline-terminated) carrying the identity: ADDED for
// seq 1, MODIFIED after.
std::string pod_event(const std::string& identity, std::uint64_t seq);

// kube-apiserver's /version document plus "identity".
std::string version_json(const std::string& identity);

}  // namespace kha::standin
