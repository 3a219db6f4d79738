// fetch_peer_certificates(): connects to each server over TLS without verifying it and reads
// the certificate it serves (subject and SANs), all at once on a private io_context, each
// bounded by one timeout, for `kha plan check-certs`. Blocking; never throws.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/address.h"
#include "tls/certificate_names.h"

namespace kha::http {

struct PeerCertificate {
  std::string error;  // "" when a certificate was read, else e.g. "connect: Connection refused"
  tls::CertificateNames names;
  bool ok() const { return error.empty(); }
};

// One result per address, in order. A server that rejects the handshake after sending its
// certificate (it wants a client certificate, as etcd does) still yields the certificate.
std::vector<PeerCertificate> fetch_peer_certificates(const std::vector<HostPort>& addresses,
                                                     std::chrono::milliseconds timeout);

}  // namespace kha::http
