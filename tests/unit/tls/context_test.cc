// Client and server contexts driven through a full handshake over memory BIOs:
// verification by CA and by name or IP, verify-none, client certificates, ALPN, and
// the diagnostics for bad files.
#include "tls/context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <filesystem>

namespace kha::tls {
namespace {

struct Pki {
  CertifiedKey ca, server, client;
};

Pki make_pki() {
  Pki p{std::move(make_ca().value()), {}, {}};
  p.server = std::move(issue(p.ca, LeafOptions{}).value());
  LeafOptions c;
  c.server = false;
  c.client = true;
  c.names = {};
  p.client = std::move(issue(p.ca, c).value());
  return p;
}

// Runs a handshake between fresh SSL objects of the two contexts; true when both
// sides complete. `peer` is the name the client expects (checked when verifying).
bool handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& peer, bool check_name,
               std::string* alpn = nullptr) {
  SslPtr client(SSL_new(client_ctx)), server(SSL_new(server_ctx));
  BIO *client_bio = nullptr, *server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  EXPECT_TRUE(set_peer_name(client.get(), peer, check_name));
  bool client_done = false, server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int r = SSL_do_handshake(client.get());
      if (r == 1) client_done = true;
      else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ) break;
    }
    if (!server_done) {
      const int r = SSL_do_handshake(server.get());
      if (r == 1) server_done = true;
      else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ) break;
    }
  }
  ERR_clear_error();
  if (alpn) {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(client.get(), &data, &len);
    *alpn = std::string(reinterpret_cast<const char*>(data), len);
  }
  return client_done && server_done;
}

class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions s;
    s.identity = &pki_.server;
    s.alpn_http11 = true;
    server_ = std::move(make_server_context(s).value());
  }
  SslCtxPtr client(bool verify, const CertifiedKey* identity = nullptr, std::vector<std::string> alpn = {}) {
    ClientOptions o;
    o.verify = verify;
    o.ca_cert = pki_.ca.cert.get();
    o.identity = identity;
    o.alpn = std::move(alpn);
    auto made = make_client_context(o);
    EXPECT_TRUE(made.ok());
    return std::move(made.value());
  }
  Pki pki_ = make_pki();
  SslCtxPtr server_;
};

TEST_F(ContextTest, VerifiesChainAndIpOrName) {
  auto c = client(true);
  EXPECT_TRUE(handshake(c.get(), server_.get(), "127.0.0.1", true));
  EXPECT_TRUE(handshake(c.get(), server_.get(), "::1", true));
  EXPECT_TRUE(handshake(c.get(), server_.get(), "localhost", true));
  EXPECT_FALSE(handshake(c.get(), server_.get(), "10.1.2.3", true));
  EXPECT_FALSE(handshake(c.get(), server_.get(), "apiserver.example.com", true));
  EXPECT_TRUE(handshake(c.get(), server_.get(), "10.1.2.3", false));  // chain only
}

TEST_F(ContextTest, UntrustedServerFailsUnlessVerifyNone) {
  auto self = make_self_signed(LeafOptions{});
  ServerOptions s;
  s.identity = &self.value();
  auto untrusted = make_server_context(s);
  ASSERT_TRUE(untrusted.ok());
  auto strict = client(true);
  EXPECT_FALSE(handshake(strict.get(), untrusted.value().get(), "127.0.0.1", true));
  auto lax = client(false);
  EXPECT_TRUE(handshake(lax.get(), untrusted.value().get(), "127.0.0.1", false));
}

TEST_F(ContextTest, SelectsHttp11FromGoStyleOffer) {
  auto c = client(false, nullptr, {"h2", "http/1.1"});
  std::string alpn;
  EXPECT_TRUE(handshake(c.get(), server_.get(), "127.0.0.1", false, &alpn));
  EXPECT_EQ(alpn, "http/1.1");
  auto h2only = client(false, nullptr, {"h2"});
  EXPECT_TRUE(handshake(h2only.get(), server_.get(), "127.0.0.1", false, &alpn));
  EXPECT_EQ(alpn, "");
}

TEST_F(ContextTest, RequiredClientCertificate) {
  const auto dir = std::filesystem::temp_directory_path() / ("kha-ctx-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string ca_file = (dir / "ca.pem").string();
  ASSERT_TRUE(write_pem_files(pki_.ca, ca_file, (dir / "ca.key").string()).empty());
  ServerOptions s;
  s.identity = &pki_.server;
  s.client_ca_file = ca_file;
  s.require_client_cert = true;
  auto strict = make_server_context(s);
  ASSERT_TRUE(strict.ok());
  auto with_cert = client(true, &pki_.client);
  auto without = client(true);
  EXPECT_TRUE(handshake(with_cert.get(), strict.value().get(), "127.0.0.1", true));
  // TLS 1.3: the client finishes before the server rejects; the server side must fail.
  EXPECT_FALSE(handshake(without.get(), strict.value().get(), "127.0.0.1", true));
  std::filesystem::remove_all(dir);
}

TEST(ContextErrors, NameTheKeyAndFile) {
  ClientOptions o;
  o.verify = true;
  o.ca_file = "/nonexistent/ca.pem";
  o.cert_file = "/nonexistent/client.pem";
  auto c = make_client_context(o);
  ASSERT_FALSE(c.ok());
  ASSERT_EQ(c.errors().size(), 2u);
  EXPECT_EQ(c.errors()[0].key, "ca_file");
  EXPECT_EQ(c.errors()[0].file, "/nonexistent/ca.pem");
  EXPECT_NE(c.errors()[0].message.find("cannot load PEM CA certificates"), std::string::npos);
  EXPECT_EQ(c.errors()[1].key, "key_file");
  EXPECT_EQ(c.errors()[1].message, "cert_file and key_file must be given together");

  ServerOptions s;
  auto none = make_server_context(s);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.errors()[0].message, "a server needs a certificate and key");
  s.cert_file = "/nonexistent/server.pem";
  s.key_file = "/nonexistent/server.key";
  auto missing = make_server_context(s);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.errors()[0].key, "cert_file");
  EXPECT_EQ(missing.errors()[0].file, "/nonexistent/server.pem");
}

TEST(ContextErrors, MismatchedKey) {
  auto a = make_self_signed(LeafOptions{});
  auto b = make_self_signed(LeafOptions{});
  const auto dir = std::filesystem::temp_directory_path() / ("kha-ctx-err-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "a.pem").string(), key_a = (dir / "a.key").string(), key_b = (dir / "b.key").string();
  ASSERT_TRUE(write_pem_files(a.value(), cert, key_a).empty());
  ASSERT_TRUE(write_pem_files(b.value(), (dir / "b.pem").string(), key_b).empty());
  ServerOptions s;
  s.cert_file = cert;
  s.key_file = key_b;
  auto r = make_server_context(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors()[0].key, "key_file");
  EXPECT_EQ(r.errors()[0].file, key_b);
  s.key_file = key_a;
  EXPECT_TRUE(make_server_context(s).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kha::tls
