// make_client_context/make_server_context (TLS 1.2+, trust and identity from PEM or files), set_peer_name().
#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/address.h"

namespace kha::tls {
namespace {

Diagnostic file_error(const std::string& key, const std::string& file, const std::string& what) {
  return Diagnostic{file, 0, 0, key, what + ": " + take_errors()};
}

SslCtxPtr new_context(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (ctx) {
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  }
  return ctx;
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Adds every certificate of PEM `text` to the context's trust store; false when none could be.
bool trust_pem(SSL_CTX* ctx, const std::string& text) {
  BioPtr bio = memory_bio(text);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) return false;
    ++added;
  }
  ERR_clear_error();  // the read past the last certificate leaves "no start line"
  return added > 0;
}

// A certificate chain (leaf first) and its key as PEM texts.
bool use_pem_identity(SSL_CTX* ctx, const std::string& cert_text, const std::string& key_text) {
  BioPtr bio = memory_bio(cert_text);
  X509Ptr leaf{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) return false;
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return false;
    }
  }
  ERR_clear_error();
  BioPtr key_bio = memory_bio(key_text);
  PkeyPtr key{PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)};
  return key && SSL_CTX_use_PrivateKey(ctx, key.get()) == 1;
}

// Loads a certificate chain and key, from files or memory, and checks they match.
Diagnostics use_identity(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file,
                         const CertifiedKey* identity, const std::string& cert_text = {},
                         const std::string& key_text = {}) {
  Diagnostics errors;
  if (!cert_text.empty() || !key_text.empty()) {
    if (cert_text.empty() || key_text.empty())
      errors.push_back(Diagnostic{"", 0, 0, cert_text.empty() ? "cert_file" : "key_file",
                                  "client certificate and key must be given together"});
    else if (!use_pem_identity(ctx, cert_text, key_text))
      errors.push_back(Diagnostic{"", 0, 0, "cert_file", "cannot use PEM certificate and key: " + take_errors()});
  } else if (identity != nullptr) {
    if (SSL_CTX_use_certificate(ctx, identity->cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, identity->key.get()) != 1)
      errors.push_back(Diagnostic{"", 0, 0, "cert_file", "cannot use in-memory certificate: " + take_errors()});
  } else if (cert_file.empty() != key_file.empty()) {
    errors.push_back(Diagnostic{"", 0, 0, cert_file.empty() ? "cert_file" : "key_file",
                                "cert_file and key_file must be given together"});
  } else if (!cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
      errors.push_back(file_error("cert_file", cert_file, "cannot load PEM certificate"));
    else if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      errors.push_back(file_error("key_file", key_file, "cannot load PEM private key"));
  } else {
    return errors;
  }
  if (errors.empty() && SSL_CTX_check_private_key(ctx) != 1)
    errors.push_back(file_error("key_file", key_file, "private key does not match the certificate"));
  return errors;
}

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

Result<SslCtxPtr> make_client_context(const ClientOptions& o) {
  SslCtxPtr ctx = new_context(TLS_client_method());
  if (!ctx) return Diagnostic{"", 0, 0, "", "cannot create TLS client context: " + take_errors()};
  Diagnostics errors;
  if (o.verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!o.ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
      errors.push_back(file_error("ca_file", o.ca_file, "cannot load PEM CA certificates"));
    if (!o.ca_pem.empty() && !trust_pem(ctx.get(), o.ca_pem))
      errors.push_back(Diagnostic{"", 0, 0, "ca_file", "cannot load PEM CA certificates: " + take_errors("no certificate")});
    if (o.ca_cert != nullptr && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), o.ca_cert) != 1)
      errors.push_back(Diagnostic{"", 0, 0, "ca_file", "cannot trust in-memory CA: " + take_errors()});
    if (o.ca_file.empty() && o.ca_pem.empty() && o.ca_cert == nullptr &&
        SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
      errors.push_back(Diagnostic{"", 0, 0, "ca_file", "cannot load the system CA store: " + take_errors()});
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  Diagnostics identity = use_identity(ctx.get(), o.cert_file, o.key_file, o.identity, o.cert_pem, o.key_pem);
  errors.insert(errors.end(), identity.begin(), identity.end());
  if (!o.alpn.empty()) {
    std::string wire;
    for (const auto& p : o.alpn) {
      if (p.empty() || p.size() > 255) {
        errors.push_back(Diagnostic{"", 0, 0, "alpn", "protocol names must be 1 to 255 bytes"});
        continue;
      }
      wire += static_cast<char>(p.size());
      wire += p;
    }
    // SSL_CTX_set_alpn_protos returns 0 on success.
    if (SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
      errors.push_back(Diagnostic{"", 0, 0, "alpn", "cannot set ALPN: " + take_errors()});
  }
  if (!errors.empty()) return errors;
  return ctx;
}

Result<SslCtxPtr> make_server_context(const ServerOptions& o) {
  SslCtxPtr ctx = new_context(TLS_server_method());
  if (!ctx) return Diagnostic{"", 0, 0, "", "cannot create TLS server context: " + take_errors()};
  if (o.identity == nullptr && o.cert_file.empty() && o.key_file.empty())
    return Diagnostic{"", 0, 0, "cert_file", "a server needs a certificate and key"};
  Diagnostics errors = use_identity(ctx.get(), o.cert_file, o.key_file, o.identity);
  if (!o.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), o.client_ca_file.c_str(), nullptr) != 1) {
      errors.push_back(file_error("client_ca_file", o.client_ca_file, "cannot load PEM CA certificates"));
    } else {
      SSL_CTX_set_client_CA_list(ctx.get(), SSL_load_client_CA_file(o.client_ca_file.c_str()));
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | (o.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                         nullptr);
    }
  }
  static const unsigned char kSessionContext[] = "kha";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  if (o.alpn_http11) SSL_CTX_set_alpn_select_cb(ctx.get(), select_http11, nullptr);
  if (!errors.empty()) return errors;
  return ctx;
}

bool set_peer_name(SSL* ssl, std::string_view host, bool check_name) {
  if (host.empty()) return !check_name;
  const std::string name(host);
  const bool literal = is_ipv4_literal(name) || is_ipv6_literal(name);
  if (!literal && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return false;
  if (!check_name) return true;
  if (literal) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  return SSL_set1_host(ssl, name.c_str()) == 1;
}

}  // namespace kha::tls
