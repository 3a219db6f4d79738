// SSL_CTX factories for both sides of a TLS connection, and the per-connection peer-name
// setup (SNI and hostname/IP verification). The client side is the one place kha builds a
// client context (health probes, discovery, the demo); the stand-in apiserver uses the
// server side. Both require TLS 1.2 or later.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tls/certificate.h"
#include "tls/openssl_ptr.h"

namespace kha::tls {

struct ClientOptions {
  // false: any certificate is accepted (HAProxy's `check-ssl verify none`, the
  // Kubespray document's choice). true: the chain must verify against ca_file
  // (or ca_pem, or ca_cert, or the system store when all are empty).
  bool verify = false;
  std::string ca_file{};
  std::string ca_pem{};     // PEM text of trust anchors (a kubeconfig's certificate-authority-data)
  X509* ca_cert = nullptr;  // in-memory trust anchor; borrowed, copied into the context
  // Client certificate for servers that require authenticated probes: both files or neither,
  // or both PEM texts (cert_pem: the chain, leaf first).
  std::string cert_file{};
  std::string key_file{};
  std::string cert_pem{};
  std::string key_pem{};
  const CertifiedKey* identity = nullptr;  // in-memory alternative to cert_file/key_file; borrowed
  std::vector<std::string> alpn{};         // offered protocols, e.g. {"http/1.1"}; empty = no ALPN
};

// A client context. Errors carry key "ca_file", "cert_file" or "key_file", the file
// name (none for PEM texts), and OpenSSL's reason.
Result<SslCtxPtr> make_client_context(const ClientOptions& options);

struct ServerOptions {
  // The server's certificate (chain) and key as PEM files, or `identity` in memory.
  std::string cert_file;
  std::string key_file;
  const CertifiedKey* identity = nullptr;  // borrowed; copied into the context
  // Client certificates: requested (and verified against this CA) when non-empty.
  std::string client_ca_file;
  bool require_client_cert = false;
  // Select "http/1.1" when the client offers it (as Go clients offer "h2,http/1.1"),
  // so that such clients never try HTTP/2.
  bool alpn_http11 = false;
};

Result<SslCtxPtr> make_server_context(const ServerOptions& options);

// Prepares one client connection for `host`: sends it as SNI unless it is an IP
// literal, and when `check_name` makes the handshake fail unless the peer certificate
// names it (DNS SAN, or IP SAN for literals). Returns false when OpenSSL refuses.
bool set_peer_name(SSL* ssl, std::string_view host, bool check_name);

}  // namespace kha::tls
