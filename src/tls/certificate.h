// In-memory certificates: a self-signed CA and the server and client certificates it
// issues (EC P-256, SHA-256), as the demo and the stand-in apiserver need them.
// Test suites that want files on disk write them with write_pem_files().
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "tls/openssl_ptr.h"

namespace kha::tls {

// A private key and its certificate. Owns both; movable, not copyable.
struct CertifiedKey {
  PkeyPtr key;
  X509Ptr cert;
};

// What a leaf certificate is for and whom it names.
struct LeafOptions {
  std::string common_name = "kha";
  // Subject alternative names; each is an IP literal ("127.0.0.1", "::1") or a DNS name.
  std::vector<std::string> names = {"127.0.0.1", "::1", "localhost"};
  bool server = true;  // extendedKeyUsage serverAuth
  bool client = false; // extendedKeyUsage clientAuth
  int days = 365;
};

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign) valid from one
// hour ago for `days` days. Errors name the OpenSSL reason.
Result<CertifiedKey> make_ca(const std::string& common_name = "kha test CA", int days = 365);

// A leaf certificate signed by `ca`.
Result<CertifiedKey> issue(const CertifiedKey& ca, const LeafOptions& options);

// A certificate for `options` that signs itself (no separate CA).
Result<CertifiedKey> make_self_signed(const LeafOptions& options);

std::string cert_pem(X509* cert);
std::string key_pem(EVP_PKEY* key);  // unencrypted PKCS#8

// Writes the certificate and key as PEM (key file mode 0600). Returns the problems;
// empty on success. Diagnostics name the file that could not be written.
Diagnostics write_pem_files(const CertifiedKey& pair, const std::string& cert_path,
                            const std::string& key_path);

}  // namespace kha::tls
