// Endpoint discovery, as k3s does it: learn a frontend's backends (the kube-apiservers)
// from the cluster by listing and then watching the EndpointSlices of the
// default/kubernetes service. The connection goes THROUGH the frontend's own listener,
// so discovery keeps working while any known apiserver is up, whichever one it is.
// Authenticated as the kubeconfig says (client certificate or bearer token; the
// cluster's CA, verified against the kubeconfig server's host name).
//
// Discovery only reports sets; ProxyServer reconciles them (kept backends keep their
// health and sessions) and never drops to zero because a list came back empty.
// The last learned set is kept in a state file (written to a temporary file and
// renamed), so that a restart during an API outage starts from it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "common/address.h"
#include "config/schema.h"

namespace kha::daemon {

// What a kubeconfig says about its current context. PEM texts are loaded (from the
// *-data fields, base64, or the files they name, relative to the kubeconfig).
struct Kubeconfig {
  std::string server;             // "https://10.0.0.1:6443"
  std::string server_host;        // "10.0.0.1": SNI and the name to verify
  std::string ca_pem;             // "" = system trust store
  bool insecure_skip_verify = false;
  std::string client_cert_pem;    // both or neither
  std::string client_key_pem;
  std::string token;              // bearer token ("" = none)
};

// Parses `path`. Errors name the file and the key ("kubeconfig /x: users[0].user.client-key: cannot read ...").
std::optional<Kubeconfig> load_kubeconfig(const std::string& path, std::string* error);

// The state file: {"frontend": NAME, "backends": ["10.0.0.1:6443", ...]}.
// load: nullopt with *error when missing (error "") or corrupt (error says why).
std::optional<std::vector<HostPort>> load_state(const std::string& path, std::string* error);
// Atomic: writes path.tmp, fsyncs it, renames it over path. Returns "" or why not.
std::string save_state(const std::string& path, const std::string& frontend, const std::vector<HostPort>& backends);

// The backends an EndpointSlice names: ready endpoints, with `port_override` (0 = the
// slice's first port). IPv6 addresses are kept bare in HostPort::host.
std::vector<HostPort> slice_backends(const std::string& slice_json_text, int port_override);

class Discovery {
 public:
  using OnSet = std::function<void(const std::vector<HostPort>&)>;
  using OnError = std::function<void(const std::string&)>;

  // `through`: where to connect (the frontend's own listener); `settings`: its discovery section.
  Discovery(asio::io_context& io, std::string frontend, HostPort through, config::Discovery settings, Kubeconfig kc,
            OnSet on_set, OnError on_error);
  ~Discovery();

  void start();
  void stop();

  struct State;  // shared with the running coroutines (discovery.cc)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kha::daemon
