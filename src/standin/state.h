// What a stand-in apiserver is and how it currently behaves; changed by its control
// endpoints (POST /_standin/readyz, POST /_standin/mode) and read by every request.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"
#include "common/duration.h"
#include "standin/rbac.h"

namespace kha::standin {

// How the data listener treats connections. Control listeners always serve normally.
enum class Mode {
  Normal,  // serve
  Hang,    // accept TCP, never read or answer (TLS never completes); existing
           // connections stop answering and watches stop sending until Normal again
  Reset,   // accept and close at once with RST (SO_LINGER 0); existing connections are reset
  Refuse,  // close the listener: connects are refused; reopened on the same port on Normal
};

std::optional<Mode> parse_mode(std::string_view text);
std::string_view to_string(Mode mode);

struct Options {
  HostPort listen;                // port 0 = any free port
  std::optional<HostPort> control; // plain-HTTP control listener, unaffected by modes
  std::string identity;           // --name: in X-Standin-Identity, /version, watch events
  std::string cert_file;          // PEM; both or neither; neither = self-signed
  std::string key_file;
  bool plain = false;             // plain HTTP instead of TLS
  Mode mode = Mode::Normal;
  Millis watch_interval{1000};    // one watch event per interval
  std::string endpoints_file;     // JSON list of "ip:port" for EndpointSlices
  std::string client_ca_file;     // when set: client certificates are requested, verified
                                  // against it, and required (401 otherwise) except on /_standin/
  std::shared_ptr<const RbacGate> rbac{};  // when set: resource requests need a bearer token it allows
};

struct State {
  std::string identity;
  bool ready = true;
  bool require_client_cert = false;  // --client-ca given: anonymous requests get 401
  std::shared_ptr<const RbacGate> rbac{};  // --rbac given: resource requests are authorized by it
  Mode mode = Mode::Normal;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::uint64_t requests = 0;      // requests answered, all listeners
  std::uint64_t connections = 0;   // data connections accepted
  std::uint64_t live = 0;          // data connections open now
  // What the apiservers pay for (issue 16): TLS handshakes completed on the data
  // listener, full or resumed (session ticket or cache), and requests answered there.
  std::uint64_t handshakes_full = 0;
  std::uint64_t handshakes_resumed = 0;
  // Handshakes the client cut after the ClientHello (HAProxy's check-ssl resets once it
  // has the server's Finished): the server did a full handshake's work all the same.
  std::uint64_t handshakes_incomplete = 0;
  std::uint64_t data_requests = 0;
};

}  // namespace kha::standin
