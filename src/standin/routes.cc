// route(): the stand-in's answers: health, /version, pods and watches, EndpointSlices, /_standin/ control.
#include "standin/routes.h"

#include <nlohmann/json.hpp>

#include "common/json_text.h"

namespace kha::standin {
namespace {

constexpr const char* kJson = "application/json";

// The checks kube-apiserver lists on /readyz?verbose (a representative subset).
constexpr const char* kChecks[] = {"ping", "log", "etcd", "etcd-readiness", "informer-sync",
                                   "poststarthook/start-apiserver-admission-initializer"};

Response status_error(int code, const std::string& reason, const std::string& message) {
  nlohmann::json body{{"kind", "Status"},       {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                      {"status", "Failure"},    {"message", message}, {"reason", reason},
                      {"details", nlohmann::json::object()}, {"code", code}};
  // Messages may quote request bytes: never let invalid UTF-8 throw.
  return Response{code, kJson, json_text(body) + "\n", {}};
}

// /readyz, /livez, /healthz. `shutdown_failing` adds the failing shutdown check that
// kube-apiserver reports once it starts shutting down.
Response health(const Request& r, const std::string& name, bool shutdown_failing) {
  const bool verbose = r.has_query("verbose");
  if (!shutdown_failing && !verbose) return Response{200, "text/plain; charset=utf-8", "ok", {}};
  std::string body;
  for (const char* check : kChecks) body += std::string("[+]") + check + " ok\n";
  body += shutdown_failing ? "[-]shutdown failed: reason withheld\n" : "[+]shutdown ok\n";
  body += name + (shutdown_failing ? " check failed\n" : " check passed\n");
  return Response{shutdown_failing ? 500 : 200, "text/plain; charset=utf-8", body, {}};
}

nlohmann::json pod(const std::string& identity, std::uint64_t resource_version) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"name", "standin-" + identity},
            {"namespace", "default"},
            {"resourceVersion", std::to_string(resource_version)},
            {"labels", {{"kha.io/standin-identity", identity}}}}},
          {"status", {{"phase", "Running"}}}};
}

nlohmann::json state_json(const State& s) {
  return {{"identity", s.identity}, {"ready", s.ready},       {"mode", std::string(to_string(s.mode))},
          {"requests", s.requests}, {"connections", s.connections}, {"live", s.live},
          {"handshakes_full", s.handshakes_full}, {"handshakes_resumed", s.handshakes_resumed},
          {"handshakes_incomplete", s.handshakes_incomplete},
          {"data_requests", s.data_requests}};
}

Reply answer(Response response) {
  Reply reply;
  reply.response = std::move(response);
  return reply;
}

bool is_watch(const Request& r) {
  const std::string w = r.query_value("watch", "false");
  return w == "true" || w == "1";
}

Reply control(const Request& r, State& state) {
  if (r.method != "POST") return answer(status_error(405, "MethodNotAllowed", "control endpoints take POST"));
  if (r.path == "/_standin/readyz") {
    const std::string status = r.query_value("status");
    if (status != "200" && status != "500")
      return answer(status_error(400, "BadRequest", "status must be 200 or 500, got '" + status + "'"));
    state.ready = status == "200";
    return answer(Response{200, kJson, state_json(state).dump() + "\n", {}});
  }
  if (r.path == "/_standin/mode") {
    const std::string m = r.query_value("m");
    const auto mode = parse_mode(m);
    if (!mode)
      return answer(status_error(400, "BadRequest", "m must be normal, hang, reset or refuse, got '" + m + "'"));
    nlohmann::json body = state_json(state);
    body["mode"] = std::string(to_string(*mode));
    Reply reply = answer(Response{200, kJson, body.dump() + "\n", {}});
    reply.set_mode = *mode;
    return reply;
  }
  return answer(status_error(404, "NotFound", "unknown control endpoint " + r.path));
}

}  // namespace

std::optional<Mode> parse_mode(std::string_view text) {
  if (text == "normal") return Mode::Normal;
  if (text == "hang") return Mode::Hang;
  if (text == "reset") return Mode::Reset;
  if (text == "refuse") return Mode::Refuse;
  return std::nullopt;
}

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::Normal: return "normal";
    case Mode::Hang: return "hang";
    case Mode::Reset: return "reset";
    case Mode::Refuse: return "refuse";
  }
  return "normal";
}

std::string pod_event(const std::string& identity, std::uint64_t seq) {
  nlohmann::json e{{"type", seq == 1 ? "ADDED" : "MODIFIED"}, {"object", pod(identity, seq)}};
  e["identity"] = identity;
  e["seq"] = seq;
  return e.dump() + "\n";
}

std::string version_json(const std::string& identity) {
  nlohmann::json v{{"major", "1"},
                   {"minor", "29"},
                   {"gitVersion", "v1.29.0-kha-standin"},
                   {"gitCommit", "0000000000000000000000000000000000000000"},
                   {"gitTreeState", "clean"},
                   {"buildDate", "2024-01-01T00:00:00Z"},
                   {"goVersion", "go1.21.5"},
                   {"compiler", "gc"},
                   {"platform", "linux/amd64"},
                   {"identity", identity}};
  return v.dump(2) + "\n";
}

Reply route(const Request& r, State& state, EndpointSource& endpoints, bool authenticated) {
  if (r.path.rfind("/_standin/", 0) == 0) {
    if (r.path == "/_standin/state" && r.method == "GET")
      return answer(Response{200, kJson, state_json(state).dump() + "\n", {}});
    return control(r, state);
  }
  if (state.require_client_cert && !authenticated)  // kube-apiserver with --anonymous-auth=false
    return answer(status_error(401, "Unauthorized", "Unauthorized"));
  if (state.rbac) {  // kube-apiserver with --authorization-mode=RBAC and bearer tokens
    const auto d = state.rbac->decide(r);
    if (d.status != 200) return answer(status_error(d.status, d.status == 401 ? "Unauthorized" : "Forbidden", d.reason));
  }
  if (r.method != "GET") return answer(status_error(405, "MethodNotAllowed", r.method + " is not supported here"));
  const bool slices = r.path.find("/endpointslices") != std::string::npos &&
                      r.path.rfind("/apis/discovery.k8s.io/v1/", 0) == 0;
  if (is_watch(r)) {
    Reply reply;
    reply.stream = slices ? StreamKind::EndpointSlices : StreamKind::Pods;
    return reply;
  }
  if (r.path == "/readyz") return answer(health(r, "readyz", !state.ready));
  if (r.path == "/livez") return answer(health(r, "livez", false));
  if (r.path == "/healthz") return answer(health(r, "healthz", false));
  if (r.path == "/health") {  // etcd's health endpoint, for etcd-style checks
    return answer(state.ready ? Response{200, kJson, "{\"health\":\"true\",\"reason\":\"\"}", {}}
                              : Response{503, kJson, "{\"health\":\"false\",\"reason\":\"made not ready\"}", {}});
  }
  if (r.path == "/version") return answer(Response{200, kJson, version_json(state.identity), {}});
  if (r.path == "/api/v1/namespaces/default/pods" || r.path == "/api/v1/pods") {
    nlohmann::json list{{"kind", "PodList"},
                        {"apiVersion", "v1"},
                        {"metadata", {{"resourceVersion", "1"}}},
                        {"items", {pod(state.identity, 1)}}};
    return answer(Response{200, kJson, list.dump() + "\n", {}});
  }
  if (slices) {
    auto snap = endpoints.read();
    if (!snap.error.empty()) return answer(status_error(500, "InternalError", snap.error));
    return answer(Response{200, kJson, make_slice_list(snap.slices, snap.resource_version).dump() + "\n", {}});
  }
  return answer(status_error(404, "NotFound", "the server could not find the requested resource"));
}

}  // namespace kha::standin
