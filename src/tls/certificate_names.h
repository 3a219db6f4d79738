// certificate_names(): what a certificate names (subject, DNS and IP SANs as text), read from
// a peer's certificate by `kha plan check-certs`.
#pragma once

#include <string>
#include <vector>

#include <openssl/x509.h>

namespace kha::tls {

struct CertificateNames {
  std::string subject;            // one line, e.g. "CN=kube-apiserver"
  std::vector<std::string> dns;   // DNS SANs as written
  std::vector<std::string> ip;    // IP SANs in canonical text ("10.0.0.1", "fd00::1")
};

CertificateNames certificate_names(X509* cert);

}  // namespace kha::tls
