// Probes: one tcp, tls or https health check on a connection of its own (see probe.h).
#include "health/probe.h"

#include "health/check_connection.h"
#include "tls/asio_context.h"
#include "tls/context.h"

namespace kha::health {

std::shared_ptr<asio::ssl::context> make_tls_context(const config::TlsClient& tls, std::string* error) {
  if (tls.verify && tls.ca_file.empty()) {
    if (error) *error = "tls.verify is true but tls.ca_file is empty";
    return nullptr;
  }
  auto made = tls::make_client_context(
      {.verify = tls.verify, .ca_file = tls.ca_file, .cert_file = tls.cert_file, .key_file = tls.key_file});
  if (!made) {
    const Diagnostic& d = made.errors().front();
    if (error) *error = d.file.empty() ? d.key + ": " + d.message : "cannot load " + d.key + " " + d.file + ": " + d.message;
    return nullptr;
  }
  return std::make_shared<asio::ssl::context>(tls::adopt(std::move(made.value())));
}

asio::awaitable<Outcome> probe(const config::HealthCheck& check, asio::ip::tcp::endpoint endpoint,
                               std::string host_for_sni) {
  co_return co_await probe(check, endpoint, std::move(host_for_sni), nullptr);
}

asio::awaitable<Outcome> probe(const config::HealthCheck& check, asio::ip::tcp::endpoint endpoint,
                               std::string host_for_sni,
                               std::shared_ptr<asio::ssl::context> tls) {
  if (check.kind == config::CheckKind::None) co_return Outcome::success(Layer::Connect, "no check configured");
  if (check.kind != config::CheckKind::Tcp && !tls) {
    std::string error;
    tls = make_tls_context(check.tls, &error);
    if (!tls) co_return Outcome::failure(Layer::Tls, "tls setup: " + error);
  }
  // One probe, one new connection: nothing is kept for a next one.
  config::HealthCheck once = check;
  once.fresh_connect_interval = Millis(0);
  CheckConnection connection(once, endpoint, host_for_sni, nullptr);
  co_return co_await connection.probe(tls.get());
}

}  // namespace kha::health
