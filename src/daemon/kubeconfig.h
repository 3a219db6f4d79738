// Kubeconfig: what discovery needs from a kubeconfig file's current context (server,
// trust, client identity, token), with the PEM texts loaded.
#pragma once

#include <string>

#include "common/result.h"

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

// Parses `path`. A problem is a Diagnostic at its line and key
// ("/x:9:11: users[u].user.client-key: cannot read /x/nope.key").
Result<Kubeconfig> load_kubeconfig(const std::string& path);

}  // namespace kha::daemon
