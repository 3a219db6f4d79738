// Probes: tcp, tls and https health checks on the shared HTTP client (see probe.h).
#include "health/probe.h"

#include <openssl/ssl.h>

#include <exception>
#include <string_view>

#include "common/address.h"
#include "common/local_error.h"
#include "http/client.h"
#include "http/request.h"
#include "tls/asio_context.h"
#include "tls/context.h"

namespace kha::health {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using http::Stage;

// Bytes of reply body judged; the rest is ignored (a probe needs the status and a hint).
constexpr std::size_t kMaxBody = 16 * 1024;

// A connect that failed for want of kha's own resources (no descriptor for the socket,
// no local port) is no evidence against the backend: Layer::Local is not counted.
Layer connect_layer(const std::error_code& ec) {
  return ec.category() == std::system_category() && is_local_resource_error(ec.value()) ? Layer::Local
                                                                                         : Layer::Connect;
}

Layer stage_layer(Stage s) {
  switch (s) {
    case Stage::Connect: return Layer::Connect;
    case Stage::Handshake: return Layer::Tls;
    default: return Layer::Http;
  }
}

// Where a failed exchange stopped: TLS alerts after the handshake (a rejected client
// certificate under TLS 1.3) are still the TLS layer's.
Layer error_layer(const http::Error& e) {
  if (e.stage == Stage::Connect) return connect_layer(e.ec);
  if (e.ec && e.ec.category() == asio::error::get_ssl_category()) return Layer::Tls;
  return stage_layer(e.stage);
}

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

std::string host_header(const std::string& name, const tcp::endpoint& endpoint) {
  return wrap_ipv6(name.empty() ? endpoint.address().to_string() : name) + ":" + std::to_string(endpoint.port());
}

// Sends the GET and judges the reply. The client is connected and handshaken.
asio::awaitable<Outcome> exchange(const config::HealthCheck& check, http::Client& client, const std::string& host,
                                  Clock::time_point start) {
  const std::string request = http::serialize(
      {.target = check.path, .host = host, .user_agent = "kha-health-check"});
  http::ResponseParser parser({.max_head = 16 * 1024, .max_body = kMaxBody, .cut_body = true});
  auto error = co_await client.exchange(request, parser);
  // A reply whose status arrived but whose body was cut short is judged by its status.
  if (error && !(parser.has_head() && !error->ec && client.stage() == Stage::ReplyBody))
    co_return Outcome::failure(error_layer(*error), error->reason, since(start),
                               parser.has_head() ? parser.head().status : 0);
  const int status = parser.head().status;
  const std::string body = http::excerpt(parser.body(), 80);
  if (status != check.expect_status) {
    std::string reason = "HTTP status " + std::to_string(status) + ", expected " + std::to_string(check.expect_status);
    if (!body.empty()) reason += ": " + body;
    co_return Outcome::failure(Layer::Http, std::move(reason), since(start), status);
  }
  std::string reason = "HTTP status " + std::to_string(status);
  if (body != "ok") reason += ", body not ok: " + (body.empty() ? std::string("(empty)") : body);
  co_return Outcome::success(Layer::Http, std::move(reason), since(start), status);
}

// The probe without its deadline: returns when it is decided.
asio::awaitable<Outcome> run(const config::HealthCheck& check, tcp::endpoint endpoint, const std::string& name,
                             http::Client& client, Clock::time_point start) {
  if (auto error = co_await client.connect(endpoint))
    co_return Outcome::failure(error_layer(*error), error->reason, since(start));
  if (check.kind == config::CheckKind::Tcp) co_return Outcome::success(Layer::Connect, "connected", since(start));
  if (check.kind == config::CheckKind::Tls) {
    co_return Outcome::success(Layer::Tls,
                               std::string("TLS handshake completed (") + SSL_get_version(client.ssl()) + ")",
                               since(start));
  }
  co_return co_await exchange(check, client, host_header(name, endpoint), start);
}

}  // namespace

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
  const auto start = Clock::now();
  if (check.kind == config::CheckKind::None) {
    co_return Outcome::success(Layer::Connect, "no check configured");
  }
  if (check.kind != config::CheckKind::Tcp && !tls) {
    std::string error;
    tls = make_tls_context(check.tls, &error);
    if (!tls) co_return Outcome::failure(Layer::Tls, "tls setup: " + error);
  }
  const std::string name = !check.tls.server_name.empty() ? check.tls.server_name
                           : !host_for_sni.empty()         ? host_for_sni
                                                           : endpoint.address().to_string();
  // Named first: GCC 12 mishandles temporaries in a full-expression that also awaits.
  const auto executor = co_await asio::this_coro::executor;
  http::ClientOptions options;
  options.tls = check.kind == config::CheckKind::Tcp ? nullptr : tls.get();
  options.peer_name = name;
  options.verify_name = check.tls.verify;
  options.timeout = check.timeout;
  http::Client client(executor, std::move(options));
  try {
    auto result = co_await client.bounded(run(check, endpoint, name, client, start));
    if (result) co_return std::move(*result);
    co_return Outcome::failure(Layer::Timeout,
                               "timeout after " + format_duration(check.timeout) + " " + stage_text(client.stage()),
                               since(start));
  } catch (const std::exception& e) {
    // Both branches were cancelled from outside (the checker stopped).
    co_return Outcome::failure(stage_layer(client.stage()), std::string("probe cancelled: ") + e.what(),
                               since(start));
  }
}

}  // namespace kha::health
