// Outcome: the result of one health probe or one passive report, tagged with the
// layer that decided it (as HAProxy's check-t.h tags CHK_RES_* by L4/L6/L7).
// Pure value type: no Asio, no I/O. Produced by probe.h and by the proxy's passive
// reports, consumed by Tracker (tracker.h) and logged on state changes.
#pragma once

#include <chrono>
#include <string>

namespace kha::health {

// Where a probe stopped. On success: the deepest layer checked (Connect for tcp,
// Tls for tls, Http for https). On failure: the layer that failed.
enum class Layer {
  Connect,  // L4: TCP connect (refused, unreachable, reset); success = connect completed
  Tls,      // L6: TLS handshake (alert, verify failure, peer closed); success = handshake completed
  Http,     // L7: HTTP exchange (bad status, malformed or truncated reply); success = expected status
  Timeout,  // the probe's timeout expired first; the reason names the stage it was in
  Passive,  // reported by the data path: connect failure, timeout or reset before any
            // byte from the backend; always a failure
  Local,    // kha itself could not probe (out of descriptors, memory, local ports): says
            // nothing of the backend, so it is neither a success nor a failure
};


const char* to_string(Layer layer);

struct Outcome {
  bool ok = false;                             // the probe passed
  Layer layer = Layer::Connect;                // see Layer
  std::string reason;                          // human text for logs: "connect: Connection refused"
  std::chrono::microseconds latency{0};        // probe start to decision (0 for passive reports)
  int http_status = 0;                         // https probes: the status received; 0 = none

  static Outcome success(Layer layer, std::string reason = {},
                         std::chrono::microseconds latency = {}, int http_status = 0) {
    return Outcome{true, layer, std::move(reason), latency, http_status};
  }
  static Outcome failure(Layer layer, std::string reason,
                         std::chrono::microseconds latency = {}, int http_status = 0) {
    return Outcome{false, layer, std::move(reason), latency, http_status};
  }
};

}  // namespace kha::health
