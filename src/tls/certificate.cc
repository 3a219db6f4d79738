// Certificate minting: EC P-256 keys, a CA and leaf certificates with SANs, PEM text and PEM files.
#include "tls/certificate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/address.h"

namespace kha::tls {
namespace {

Diagnostic failure(const std::string& what) { return Diagnostic{"", 0, 0, "", what + ": " + take_errors()}; }

PkeyPtr new_key() { return PkeyPtr(EVP_EC_gen("P-256")); }

bool set_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  if (bn == nullptr) return false;
  const bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, not yet signed; issuer = subject when
// `issuer` is null (self-signed).
X509Ptr new_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer, int days) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_serial(cert.get())) return nullptr;
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1)
    return nullptr;
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1)
    return nullptr;
  return cert;
}

std::string san_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ',';
    out += (is_ipv4_literal(n) || is_ipv6_literal(n)) ? "IP:" : "DNS:";
    out += n;
  }
  return out;
}

Result<CertifiedKey> make_leaf(const CertifiedKey* ca, const LeafOptions& o) {
  CertifiedKey out{new_key(), nullptr};
  if (!out.key) return failure("cannot generate an EC P-256 key");
  out.cert = new_cert(out.key.get(), o.common_name, ca ? ca->cert.get() : nullptr, o.days);
  if (!out.cert) return failure("cannot build certificate for " + o.common_name);
  X509* issuer = ca ? ca->cert.get() : out.cert.get();
  std::string usage;
  if (o.server) usage = "serverAuth";
  if (o.client) usage += usage.empty() ? "clientAuth" : ",clientAuth";
  bool ok = add_extension(out.cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
            add_extension(out.cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
            add_extension(out.cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (ok && ca) ok = add_extension(out.cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (ok && !usage.empty()) ok = add_extension(out.cert.get(), issuer, NID_ext_key_usage, usage);
  if (ok && !o.names.empty()) ok = add_extension(out.cert.get(), issuer, NID_subject_alt_name, san_list(o.names));
  if (!ok) return failure("cannot add extensions to certificate for " + o.common_name);
  EVP_PKEY* signer = ca ? ca->key.get() : out.key.get();
  if (X509_sign(out.cert.get(), signer, EVP_sha256()) == 0)
    return failure("cannot sign certificate for " + o.common_name);
  return out;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

Diagnostics write_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return {Diagnostic{path, 0, 0, "", std::string("cannot write: ") + std::strerror(errno)}};
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return {Diagnostic{path, 0, 0, "", std::string("cannot write: ") + std::strerror(err)}};
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return {};
}

}  // namespace

Result<CertifiedKey> make_ca(const std::string& common_name, int days) {
  CertifiedKey out{new_key(), nullptr};
  if (!out.key) return failure("cannot generate an EC P-256 key");
  out.cert = new_cert(out.key.get(), common_name, nullptr, days);
  if (!out.cert) return failure("cannot build CA certificate " + common_name);
  X509* self = out.cert.get();
  if (!add_extension(self, self, NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(self, self, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
      !add_extension(self, self, NID_subject_key_identifier, "hash"))
    return failure("cannot add extensions to CA certificate " + common_name);
  if (X509_sign(self, out.key.get(), EVP_sha256()) == 0) return failure("cannot sign CA certificate");
  return out;
}

Result<CertifiedKey> issue(const CertifiedKey& ca, const LeafOptions& options) { return make_leaf(&ca, options); }

Result<CertifiedKey> make_self_signed(const LeafOptions& options) { return make_leaf(nullptr, options); }

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return bio_string(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return bio_string(bio.get());
}

Diagnostics write_pem_files(const CertifiedKey& pair, const std::string& cert_path, const std::string& key_path) {
  Diagnostics out = write_file(cert_path, cert_pem(pair.cert.get()), 0644);
  Diagnostics key = write_file(key_path, key_pem(pair.key.get()), 0600);
  out.insert(out.end(), key.begin(), key.end());
  return out;
}

}  // namespace kha::tls
