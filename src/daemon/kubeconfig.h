// Kubeconfig: what discovery needs from a kubeconfig file's current context (server,
// trust, client identity, token), with the PEM texts loaded.
#pragma once

#include <optional>
#include <string>

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

}  // namespace kha::daemon
