// Probes against real loopback servers: the Outcome's layer and reason say where
// and why a probe stopped, and the timeout bounds a probe of a hung backend.
#include "health/probe.h"

#include "health/check_connection.h"

#include <gtest/gtest.h>

#include "test_servers.h"

namespace kha::health {
namespace {

using namespace std::chrono_literals;
using testing::HangingListener;
using testing::refused_endpoint;
using testing::run_probe;
using testing::test_pki;
using testing::TlsServer;

config::HealthCheck check_of(config::CheckKind kind, Millis timeout = 2s) {
  config::HealthCheck check;
  check.kind = kind;
  check.timeout = timeout;
  return check;
}

TEST(TcpProbe, ConnectsToAListeningPort) {
  asio::io_context io;
  HangingListener listener(io);
  const Outcome o = run_probe(io, check_of(config::CheckKind::Tcp), listener.endpoint(), "");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.layer, Layer::Connect);
  EXPECT_EQ(o.reason, "connected");
  EXPECT_GT(o.latency.count(), 0);
}

TEST(TcpProbe, WorksOverIpv6Loopback) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  asio::error_code ec;
  acceptor.open(asio::ip::tcp::v6(), ec);
  if (!ec) acceptor.bind({asio::ip::make_address("::1"), 0}, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  const Outcome o = run_probe(io, check_of(config::CheckKind::Tcp), acceptor.local_endpoint(), "");
  EXPECT_TRUE(o.ok) << o.reason;
}

TEST(TcpProbe, RefusedPortFailsAtConnect) {
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::Tcp), refused_endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Connect);
  EXPECT_EQ(o.reason, "connect: Connection refused");
}

TEST(TlsProbe, RefusedPortFailsAtConnect) {
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::Tls), refused_endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Connect);
  EXPECT_EQ(o.reason, "connect: Connection refused");
}

// A hung apiserver: the kernel completes the TCP handshake, nothing answers. A tcp
// probe passes (the known limit of TCP checks); a tls probe times out in the handshake.
TEST(TlsProbe, HungBackendTimesOutDuringTheHandshake) {
  asio::io_context io;
  HangingListener listener(io);
  const auto start = std::chrono::steady_clock::now();
  const Outcome o =
      run_probe(io, check_of(config::CheckKind::Tls, 300ms), listener.endpoint(), "");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Timeout);
  EXPECT_EQ(o.reason, "timeout after 300ms during TLS handshake");
  EXPECT_GE(o.latency, 300ms);
  EXPECT_LT(elapsed, 5s) << "the timeout must bound the probe";
}

TEST(TlsProbe, VerifyNoneAcceptsAnyCertificate) {
  TlsServer server({TlsServer::Mode::Tls});
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::Tls), server.endpoint(), "127.0.0.1");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.layer, Layer::Tls);
  EXPECT_EQ(o.reason.rfind("TLS handshake completed (TLSv1.", 0), 0u) << o.reason;
}

TEST(TlsProbe, VerifiesAgainstTheCaAndServerName) {
  TlsServer server({TlsServer::Mode::Tls});
  asio::io_context io;
  auto check = check_of(config::CheckKind::Tls);
  check.tls.verify = true;
  check.tls.ca_file = test_pki().ca_cert;
  check.tls.server_name = "apiserver.test";
  Outcome o = run_probe(io, check, server.endpoint(), "127.0.0.1");
  EXPECT_TRUE(o.ok) << o.reason;
  // The backend's own IP is in the certificate too.
  check.tls.server_name.clear();
  o = run_probe(io, check, server.endpoint(), "127.0.0.1");
  EXPECT_TRUE(o.ok) << o.reason;
}

TEST(TlsProbe, WrongServerNameFailsVerification) {
  TlsServer server({TlsServer::Mode::Tls});
  asio::io_context io;
  auto check = check_of(config::CheckKind::Tls);
  check.tls.verify = true;
  check.tls.ca_file = test_pki().ca_cert;
  check.tls.server_name = "etcd.test";
  const Outcome o = run_probe(io, check, server.endpoint(), "127.0.0.1");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Tls);
  EXPECT_NE(o.reason.find("certificate verify failed"), std::string::npos) << o.reason;
}

TEST(TlsProbe, UnknownCaFailsVerification) {
  TlsServer server({TlsServer::Mode::Tls});
  asio::io_context io;
  auto check = check_of(config::CheckKind::Tls);
  check.tls.verify = true;
  check.tls.ca_file = test_pki().other_ca_cert;
  const Outcome o = run_probe(io, check, server.endpoint(), "apiserver.test");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Tls);
  EXPECT_NE(o.reason.find("unable to get local issuer certificate"), std::string::npos)
      << o.reason;
}

TEST(TlsProbe, MissingCaFileIsATlsSetupFailure) {
  asio::io_context io;
  auto check = check_of(config::CheckKind::Tls);
  check.tls.verify = true;
  check.tls.ca_file = "/nonexistent/ca.pem";
  const Outcome o = run_probe(io, check, refused_endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Tls);
  EXPECT_EQ(o.reason.rfind("tls setup: cannot load ca_file /nonexistent/ca.pem: ", 0), 0u)
      << o.reason;
}

TEST(TlsProbe, PeerThatClosesDuringHandshakeFailsAtTls) {
  // A plain TCP server that accepts and closes at once.
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  acceptor.async_accept([](asio::error_code, asio::ip::tcp::socket s) { s.close(); });
  const Outcome o = run_probe(io, check_of(config::CheckKind::Tls), acceptor.local_endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Tls);
  EXPECT_EQ(o.reason.rfind("TLS handshake: ", 0), 0u) << o.reason;
}

TEST(HttpsProbe, ExpectedStatusWithOkBodyPasses) {
  TlsServer server({TlsServer::Mode::Https, 200, "ok"});
  asio::io_context io;
  const Outcome o =
      run_probe(io, check_of(config::CheckKind::Https), server.endpoint(), "apiserver.test");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.layer, Layer::Http);
  EXPECT_EQ(o.http_status, 200);
  EXPECT_EQ(o.reason, "HTTP status 200");
  const std::string request = server.last_request();
  EXPECT_EQ(request.rfind("GET /readyz HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("\r\nHost: apiserver.test:" + std::to_string(server.endpoint().port())),
            std::string::npos)
      << request;
}

TEST(HttpsProbe, BodyThatIsNotOkIsReportedButPasses) {
  TlsServer server({TlsServer::Mode::Https, 200, "[+]ping ok\n[-]etcd not ready\n"});
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::Https), server.endpoint(), "");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.reason, "HTTP status 200, body not ok: [+]ping ok [-]etcd not ready");
}

TEST(HttpsProbe, WrongStatusFailsAtHttp) {
  TlsServer server({TlsServer::Mode::Https, 500, "[-]etcd failed: reason withheld\n"});
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::Https), server.endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Http);
  EXPECT_EQ(o.http_status, 500);
  EXPECT_EQ(o.reason, "HTTP status 500, expected 200: [-]etcd failed: reason withheld");
}

TEST(HttpsProbe, PathAndExpectedStatusComeFromTheCheck) {
  TlsServer server({TlsServer::Mode::Https, 204, ""});
  asio::io_context io;
  auto check = check_of(config::CheckKind::Https);
  check.path = "/health";
  check.expect_status = 204;
  const Outcome o = run_probe(io, check, server.endpoint(), "");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(server.last_request().rfind("GET /health HTTP/1.1\r\n", 0), 0u);
}

TEST(HttpsProbe, SilentServerTimesOutWaitingForTheStatus) {
  TlsServer server({TlsServer::Mode::Hang});
  asio::io_context io;
  const Outcome o =
      run_probe(io, check_of(config::CheckKind::Https, 400ms), server.endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Timeout);
  EXPECT_EQ(o.reason, "timeout after 400ms waiting for HTTP status");
}

TEST(HttpsProbe, NonHttpReplyFailsAtHttp) {
  TlsServer server({TlsServer::Mode::Garbage});
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::Https), server.endpoint(), "");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.layer, Layer::Http);
  EXPECT_EQ(o.reason, "bad status line: SSH-2.0-OpenSSH_9.2");
}

TEST(HttpsProbe, ClientCertificateIsPresentedWhenConfigured) {
  TlsServer server({TlsServer::Mode::Https, 200, "ok", /*require_client_cert=*/true});
  asio::io_context io;
  auto check = check_of(config::CheckKind::Https);
  Outcome o = run_probe(io, check, server.endpoint(), "");
  EXPECT_FALSE(o.ok) << "the server requires a client certificate";
  EXPECT_EQ(o.layer, Layer::Tls) << o.reason;
  check.tls.cert_file = test_pki().client_cert;
  check.tls.key_file = test_pki().client_key;
  o = run_probe(io, check, server.endpoint(), "");
  EXPECT_TRUE(o.ok) << o.reason;
}

TEST(NoneProbe, AlwaysPassesWithoutTouchingTheNetwork) {
  asio::io_context io;
  const Outcome o = run_probe(io, check_of(config::CheckKind::None), refused_endpoint(), "");
  EXPECT_TRUE(o.ok);
}


// A server that answers keep-alive-looking replies and then closes: the checker's kept
// connection is found closed at the next probe, which reconnects within the probe
// (resuming the TLS session) instead of reporting the stale connection as a failure.
TEST(CheckConnection, StaleKeptConnectionIsReplacedWithinTheProbe) {
  TlsServer server({.mode = TlsServer::Mode::Https});
  config::HealthCheck check = check_of(config::CheckKind::Https);
  check.fresh_connect_interval = std::chrono::minutes(2);
  asio::io_context io;
  auto tls = make_tls_context(check.tls, nullptr);
  ASSERT_TRUE(tls);
  CheckConnection connection(check, server.endpoint(), "127.0.0.1", nullptr);
  std::vector<Outcome> outcomes;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 2; ++i) outcomes.push_back(co_await connection.probe(tls.get()));
  }, asio::detached);
  io.run();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].reason;
  EXPECT_EQ(outcomes[0].connection, Connection::New);
  EXPECT_TRUE(outcomes[0].request_sent);
  EXPECT_TRUE(outcomes[1].ok) << outcomes[1].reason;
  EXPECT_EQ(outcomes[1].connection, Connection::Resumed) << "the second connection resumes the first session";
  EXPECT_EQ(server.accepted(), 2);
}

// fresh_connect_interval 0: the old behaviour, a new connection and a full handshake per probe.
TEST(CheckConnection, FreshConnectIntervalZeroOpensANewConnectionEachProbe) {
  TlsServer server({.mode = TlsServer::Mode::Tls});
  config::HealthCheck check = check_of(config::CheckKind::Tls);
  check.fresh_connect_interval = Millis(0);
  asio::io_context io;
  auto tls = make_tls_context(check.tls, nullptr);
  ASSERT_TRUE(tls);
  CheckConnection connection(check, server.endpoint(), "127.0.0.1", nullptr);
  std::vector<Outcome> outcomes;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 2; ++i) outcomes.push_back(co_await connection.probe(tls.get()));
  }, asio::detached);
  io.run();
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& o : outcomes) {
    EXPECT_TRUE(o.ok) << o.reason;
    EXPECT_EQ(o.connection, Connection::New);
  }
  EXPECT_FALSE(connection.idle());
}

}  // namespace
}  // namespace kha::health
