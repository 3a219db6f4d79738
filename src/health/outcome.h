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

// How a probe reached the backend: no connection (passive reports, none), the kept-alive
// one, a new one with a full TLS handshake (or a plain TCP connect), or a new one whose
// TLS session was resumed.
enum class Connection { None, Reused, New, Resumed };

const char* to_string(Layer layer);
const char* to_string(Connection connection);  // "none", "reused", "new", "resumed"

struct Outcome {
  bool ok = false;                             // the probe passed
  Layer layer = Layer::Connect;                // see Layer
  std::string reason;                          // human text for logs: "connect: Connection refused"
  std::chrono::microseconds latency{0};        // probe start to decision (0 for passive reports)
  int http_status = 0;                         // https probes: the status received; 0 = none
  // What the probe cost the backend (kha_health_connections_total, kha_health_requests_total).
  Connection connection = Connection::None;
  bool request_sent = false;                   // an HTTP request was written

  static Outcome success(Layer layer, std::string reason = {},
                         std::chrono::microseconds latency = {}, int http_status = 0) {
    Outcome o;
    o.ok = true;
    o.layer = layer;
    o.reason = std::move(reason);
    o.latency = latency;
    o.http_status = http_status;
    return o;
  }
  static Outcome failure(Layer layer, std::string reason,
                         std::chrono::microseconds latency = {}, int http_status = 0) {
    Outcome o;
    o.ok = false;
    o.layer = layer;
    o.reason = std::move(reason);
    o.latency = latency;
    o.http_status = http_status;
    return o;
  }
};

}  // namespace kha::health
