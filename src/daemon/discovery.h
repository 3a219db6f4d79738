// Endpoint discovery, as k3s does it: learn a frontend's backends (the kube-apiservers)
// from the cluster by listing and then watching the EndpointSlices of the
// default/kubernetes service. The connection goes THROUGH the frontend's own listener,
// so discovery keeps working while any known apiserver is up, whichever one it is.
// Authenticated as the kubeconfig says (client certificate or bearer token; the
// cluster's CA, verified against the kubeconfig server's host name).
//
// Discovery only reports sets; ProxyServer reconciles them (kept backends keep their
// health and sessions) and never drops to zero because a list came back empty.
// The last learned set is kept in a state file (discovery_state.h), so that a restart
// during an API outage starts from it. The kubeconfig is read by kubeconfig.h, the
// EndpointSlice JSON by slice_json.h; HTTP and TLS are the shared client's (src/http).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "common/address.h"
#include "config/schema.h"
#include "daemon/discovery_state.h"
#include "daemon/kubeconfig.h"
#include "daemon/slice_json.h"

namespace kha::daemon {

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
