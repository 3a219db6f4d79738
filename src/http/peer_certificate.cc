// fetch_peer_certificates(): the TLS connects of check-certs (see peer_certificate.h).
#include "http/peer_certificate.h"

#include <openssl/ssl.h>

#include <exception>

#include <asio.hpp>

#include "http/client.h"
#include "tls/asio_context.h"
#include "tls/context.h"

namespace kha::http {
namespace {

using asio::ip::tcp;

// The certificate the peer sent, if the handshake got that far.
bool take_certificate(Client& client, PeerCertificate* out) {
  SSL* ssl = client.ssl();
  X509* cert = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (!cert) return false;
  out->names = tls::certificate_names(cert);
  return true;
}

asio::awaitable<void> read_one(HostPort where, asio::ssl::context* tls, std::chrono::milliseconds timeout,
                               PeerCertificate* out) {
  auto executor = co_await asio::this_coro::executor;
  // The peer name is the address dialed: SNI for a name, none for an IP, nothing verified.
  Client client(executor, ClientOptions{.tls = tls, .peer_name = where.host, .verify_name = false, .timeout = timeout});
  auto work = [&]() -> asio::awaitable<std::optional<Error>> {
    std::string why;
    auto endpoints = co_await resolve(where, &why);
    if (endpoints.empty()) co_return Error{Stage::Connect, {}, why};
    std::optional<Error> error;
    for (const auto& endpoint : endpoints) {
      error = co_await client.connect(endpoint);
      if (!error) {
        // TLS 1.3: let the server finish its side so that it logs no failed handshake.
        co_await client.settle(std::chrono::milliseconds(50));
        co_return error;
      }
      if (error->stage == Stage::Handshake) co_return error;
    }
    co_return error;
  };
  const auto result = co_await client.bounded(work());
  if (!result) {
    out->error = "timed out after " + std::to_string(timeout.count()) + "ms " + stage_text(client.stage());
    co_return;
  }
  if (take_certificate(client, out)) co_return;
  out->error = *result ? (*result)->reason : "the server sent no certificate";
}

}  // namespace

std::vector<PeerCertificate> fetch_peer_certificates(const std::vector<HostPort>& addresses,
                                                     std::chrono::milliseconds timeout) {
  std::vector<PeerCertificate> out(addresses.size());
  auto made = tls::make_client_context({.verify = false});
  if (!made.ok()) {
    for (auto& o : out) o.error = "TLS context: " + made.errors().front().message;
    return out;
  }
  try {
    asio::ssl::context tls = tls::adopt(std::move(made).value());
    std::vector<bool> done(addresses.size(), false);
    asio::io_context io;  // last: its pending coroutines go before what they point at
    for (std::size_t i = 0; i < addresses.size(); ++i)
      asio::co_spawn(io, read_one(addresses[i], &tls, timeout, &out[i]), [&out, &done, i](std::exception_ptr e) {
        done[i] = true;
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          out[i].error = ex.what();
        }
      });
    // The clients' deadlines bound connect and handshake; this bounds name resolution too.
    io.run_for(timeout + std::chrono::milliseconds(200));
    for (std::size_t i = 0; i < addresses.size(); ++i)
      if (!done[i]) out[i].error = "timed out after " + std::to_string(timeout.count()) + "ms";
  } catch (const std::exception& e) {
    for (auto& o : out)
      if (o.error.empty() && o.names.subject.empty()) o.error = e.what();
  }
  return out;
}

}  // namespace kha::http
