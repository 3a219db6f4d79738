// Probes: one health check attempt against one backend endpoint, on Asio C++20
// coroutines. Kinds (config::CheckKind): tcp (connect), tls (connect + handshake),
// https (TLS + GET path, expect a status). Every probe is bounded by check.timeout,
// raced against a steady_timer; the Outcome's layer says where it stopped.
// Probes never throw; every failure is an Outcome.
#pragma once

#include <memory>
#include <string>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "config/schema.h"
#include "health/outcome.h"

namespace kha::health {

// Builds the client TLS context a tls or https probe uses: TLS >= 1.2; verify none
// (tls.verify false) or verify the peer against tls.ca_file; optional client
// certificate and key. Returns null and sets *error ("cannot load ca_file
// /x/ca.pem: No such file or directory") when a file cannot be used.
std::shared_ptr<asio::ssl::context> make_tls_context(const config::TlsClient& tls,
                                                     std::string* error);

// Runs one probe of `check.kind` against `endpoint` and returns its outcome.
// host_for_sni: the backend's host as configured; it is the SNI, the name verified
// (unless check.tls.server_name overrides it) and the HTTP Host. An IP literal or
// "" sends no SNI and verifies the IP address. `check` must outlive the awaitable
// (co_await it directly). kind none returns success at once. A TLS context is built
// for each call; checkers that probe repeatedly pass one from make_tls_context().
asio::awaitable<Outcome> probe(const config::HealthCheck& check, asio::ip::tcp::endpoint endpoint,
                               std::string host_for_sni);

// As above with a prepared TLS context (may be null for tcp; null for tls/https
// builds one per call).
asio::awaitable<Outcome> probe(const config::HealthCheck& check, asio::ip::tcp::endpoint endpoint,
                               std::string host_for_sni,
                               std::shared_ptr<asio::ssl::context> tls);

}  // namespace kha::health
