#include "health/probe.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <exception>
#include <string_view>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "common/local_error.h"
#include "health/http_reply.h"

namespace kha::health {
namespace {

using asio::experimental::as_tuple;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using TlsStream = asio::ssl::stream<tcp::socket>;

constexpr std::size_t kMaxReply = 16 * 1024;  // bytes of reply read; the rest is ignored

// A connect that failed for want of kha's own resources (no descriptor for the socket,
// no local port) is no evidence against the backend: Layer::Local is not counted.
Layer connect_layer(const std::error_code& ec) {
  return ec.category() == std::system_category() && is_local_resource_error(ec.value()) ? Layer::Local
                                                                                         : Layer::Connect;
}

// Where a probe is; read when the timeout fires to say which stage was too slow.
enum class Stage { Connect, Handshake, Request, ReplyHead, ReplyBody };

const char* stage_text(Stage s) {
  switch (s) {
    case Stage::Connect: return "during connect";
    case Stage::Handshake: return "during TLS handshake";
    case Stage::Request: return "sending HTTP request";
    case Stage::ReplyHead: return "waiting for HTTP status";
    case Stage::ReplyBody: return "reading HTTP body";
  }
  return "?";
}

Layer stage_layer(Stage s) {
  switch (s) {
    case Stage::Connect: return Layer::Connect;
    case Stage::Handshake: return Layer::Tls;
    default: return Layer::Http;
  }
}

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

bool is_ip_literal(const std::string& host) {
  asio::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string host_header(const std::string& name, const tcp::endpoint& endpoint) {
  std::string host = name.empty() ? endpoint.address().to_string() : name;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

// The reason for a failed handshake, with the verify error when there is one.
std::string handshake_reason(TlsStream& stream, const asio::error_code& ec) {
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    return "TLS handshake: peer closed the connection";
  }
  std::string reason = "TLS handshake: " + ec.message();
  const long verify = SSL_get_verify_result(stream.native_handle());
  if (verify != X509_V_OK) reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  return reason;
}

bool is_eof(const asio::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Sends the GET and judges the reply. The stream is connected and handshaken.
asio::awaitable<Outcome> exchange(const config::HealthCheck& check, TlsStream& stream,
                                  const std::string& host, Stage& stage, Clock::time_point start) {
  stage = Stage::Request;
  const std::string request = make_get_request(check.path, host);
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request),
                                                   as_tuple(asio::use_awaitable));
  (void)written;
  if (wec) co_return Outcome::failure(Layer::Http, "send request: " + wec.message(), since(start));

  stage = Stage::ReplyHead;
  std::string bytes;
  std::optional<ReplyHead> head;
  bool eof = false;
  char chunk[4096];
  while (true) {
    std::string error;
    if (!head) head = parse_reply_head(bytes, &error);
    if (!error.empty()) co_return Outcome::failure(Layer::Http, error, since(start));
    if (head) {
      stage = Stage::ReplyBody;
      const std::string_view body = std::string_view(bytes).substr(head->size);
      if (eof || body_complete(*head, body) || bytes.size() >= kMaxReply) break;
    } else if (eof || bytes.size() >= kMaxReply) {
      co_return Outcome::failure(Layer::Http,
                                 bytes.empty() ? "connection closed before any reply"
                                               : "reply head incomplete: " + excerpt(bytes, 60),
                                 since(start));
    }
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(chunk), as_tuple(asio::use_awaitable));
    bytes.append(chunk, n);
    if (is_eof(rec)) {
      eof = true;
    } else if (rec.category() == asio::error::get_ssl_category()) {
      // TLS 1.3: a rejected client certificate arrives as an alert on the first read.
      co_return Outcome::failure(Layer::Tls, "TLS: " + rec.message(), since(start));
    } else if (rec) {
      co_return Outcome::failure(Layer::Http, "read reply: " + rec.message(), since(start),
                                 head ? head->status : 0);
    }
  }

  const std::string body = excerpt(decode_body(*head, std::string_view(bytes).substr(head->size)), 80);
  if (head->status != check.expect_status) {
    std::string reason = "HTTP status " + std::to_string(head->status) + ", expected " +
                         std::to_string(check.expect_status);
    if (!body.empty()) reason += ": " + body;
    co_return Outcome::failure(Layer::Http, std::move(reason), since(start), head->status);
  }
  std::string reason = "HTTP status " + std::to_string(head->status);
  if (body != "ok") reason += ", body not ok: " + (body.empty() ? std::string("(empty)") : body);
  co_return Outcome::success(Layer::Http, std::move(reason), since(start), head->status);
}

// The probe without its deadline: returns when it is decided or cancelled.
asio::awaitable<Outcome> run(const config::HealthCheck& check, tcp::endpoint endpoint,
                             const std::string& host, std::shared_ptr<asio::ssl::context> tls,
                             Stage& stage, Clock::time_point start) {
  auto executor = co_await asio::this_coro::executor;
  stage = Stage::Connect;
  if (check.kind == config::CheckKind::Tcp) {
    tcp::socket socket(executor);
    auto [ec] = co_await socket.async_connect(endpoint, as_tuple(asio::use_awaitable));
    if (ec) co_return Outcome::failure(connect_layer(ec), "connect: " + ec.message(), since(start));
    co_return Outcome::success(Layer::Connect, "connected", since(start));
  }

  TlsStream stream(executor, *tls);
  auto [ec] = co_await stream.lowest_layer().async_connect(endpoint, as_tuple(asio::use_awaitable));
  if (ec) co_return Outcome::failure(connect_layer(ec), "connect: " + ec.message(), since(start));
  asio::error_code nodelay_ec;
  stream.lowest_layer().set_option(tcp::no_delay(true), nodelay_ec);

  const std::string name = !check.tls.server_name.empty() ? check.tls.server_name
                           : !host.empty()                ? host
                                                          : endpoint.address().to_string();
  if (!is_ip_literal(name)) SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
  if (check.tls.verify) stream.set_verify_callback(asio::ssl::host_name_verification(name));

  stage = Stage::Handshake;
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client,
                                               as_tuple(asio::use_awaitable));
  if (hec) co_return Outcome::failure(Layer::Tls, handshake_reason(stream, hec), since(start));
  if (check.kind == config::CheckKind::Tls) {
    co_return Outcome::success(Layer::Tls,
                               std::string("TLS handshake completed (") +
                                   SSL_get_version(stream.native_handle()) + ")",
                               since(start));
  }
  co_return co_await exchange(check, stream, host_header(name, endpoint), stage, start);
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const config::TlsClient& tls,
                                                     std::string* error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  asio::error_code ec;
  auto fail = [&](const char* field, const std::string& file) {
    if (error) *error = std::string("cannot load ") + field + " " + file + ": " + ec.message();
    return nullptr;
  };
  if (tls.verify) {
    context->set_verify_mode(asio::ssl::verify_peer, ec);
    if (tls.ca_file.empty()) {
      if (error) *error = "tls.verify is true but tls.ca_file is empty";
      return nullptr;
    }
    context->load_verify_file(tls.ca_file, ec);
    if (ec) return fail("ca_file", tls.ca_file);
  } else {
    context->set_verify_mode(asio::ssl::verify_none, ec);
  }
  if (!tls.cert_file.empty() || !tls.key_file.empty()) {
    if (tls.cert_file.empty() || tls.key_file.empty()) {
      if (error) *error = "tls.cert_file and tls.key_file must be given together";
      return nullptr;
    }
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) return fail("cert_file", tls.cert_file);
    context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) return fail("key_file", tls.key_file);
  }
  return context;
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
  Stage stage = Stage::Connect;
  asio::steady_timer deadline(co_await asio::this_coro::executor, check.timeout);
  try {
    auto result = co_await (run(check, endpoint, host_for_sni, tls, stage, start) ||
                            deadline.async_wait(asio::use_awaitable));
    if (result.index() == 0) co_return std::get<0>(std::move(result));
    co_return Outcome::failure(Layer::Timeout,
                               "timeout after " + format_duration(check.timeout) + " " +
                                   stage_text(stage),
                               since(start));
  } catch (const std::exception& e) {
    // Both branches were cancelled from outside (the checker stopped).
    co_return Outcome::failure(stage_layer(stage), std::string("probe cancelled: ") + e.what(),
                               since(start));
  }
}

}  // namespace kha::health
