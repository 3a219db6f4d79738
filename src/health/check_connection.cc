// CheckConnection: kept-alive, resumed and fresh check connections (see check_connection.h).
#include "health/check_connection.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <exception>
#include <string_view>

#include <asio/experimental/as_tuple.hpp>

#include "common/address.h"
#include "common/local_error.h"
#include "http/request.h"

namespace kha::health {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using http::Stage;

// Bytes of reply body judged; the rest is ignored (a probe needs the status and a hint).
constexpr std::size_t kMaxBody = 16 * 1024;
// A resumed handshake skips the certificate check: a session is used this long at most,
// so a changed certificate is verified within the hour (one full handshake an hour).
constexpr auto kMaxSessionAge = std::chrono::hours(1);

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

std::string peer_name(const config::HealthCheck& check, const tcp::endpoint& endpoint, const std::string& host) {
  return !check.tls.server_name.empty() ? check.tls.server_name
         : !host.empty()                ? host
                                        : endpoint.address().to_string();
}

// A reply after which the connection may carry the next probe.
bool reusable_reply(const http::ResponseParser& parser) {
  if (parser.progress() != http::Progress::Complete || parser.body_cut()) return false;
  const auto& head = parser.head();
  if (!head.content_length && !head.chunked) return false;  // the body ran to the close
  std::string connection(head.field("Connection"));
  std::transform(connection.begin(), connection.end(), connection.begin(), [](unsigned char c) { return std::tolower(c); });
  return connection.find("close") == std::string::npos;
}

}  // namespace

CheckConnection::CheckConnection(const config::HealthCheck& check, tcp::endpoint endpoint,
                                 const std::string& host_for_sni, Schedule::Random random)
    : check_(check),
      endpoint_(endpoint),
      name_(peer_name(check, endpoint, host_for_sni)),
      host_header_(wrap_ipv6(name_) + ":" + std::to_string(endpoint.port())),
      random_(std::move(random)) {}

void CheckConnection::close() {
  if (!client_) return;
  // OpenSSL marks the session of a connection freed without a shutdown not resumable
  // (the object session_ shares): a connection kha chose to close was fine, say so.
  if (SSL* ssl = client_->ssl(); ssl && SSL_is_init_finished(ssl)) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN);
  client_->abort();
  client_.reset();
}

void CheckConnection::open(asio::any_io_executor executor, asio::ssl::context* tls) {
  http::ClientOptions options;
  options.tls = check_.kind == config::CheckKind::Tcp ? nullptr : tls;
  options.peer_name = name_;
  options.verify_name = check_.tls.verify;
  options.timeout = check_.timeout;
  client_ = std::make_unique<http::Client>(executor, std::move(options));
  if (session_ && Clock::now() - session_born_ > kMaxSessionAge) session_.reset();
  if (client_->ssl() && session_) SSL_set_session(client_->ssl(), session_.get());
}

void CheckConnection::remember_session() {
  SSL* ssl = client_ ? client_->ssl() : nullptr;
  if (!ssl || !reuse_allowed()) return;
  if (SSL_session_reused(ssl) && session_) return;  // keep the first one's age
  tls::SslSessionPtr got(SSL_get1_session(ssl));
  if (!got || !SSL_SESSION_is_resumable(got.get())) return;
  session_ = std::move(got);
  session_born_ = Clock::now();
}

asio::awaitable<Outcome> CheckConnection::exchange(Clock::time_point start, bool* reusable) {
  const std::string request = http::serialize({.target = check_.path,
                                               .host = host_header_,
                                               .user_agent = "kha-health-check",
                                               .keep_alive = reuse_allowed()});
  http::ResponseParser parser({.max_head = 16 * 1024, .max_body = kMaxBody, .cut_body = true});
  auto error = co_await client_->exchange(request, parser);
  *reusable = !error && reusable_reply(parser);
  // A reply whose status arrived but whose body was cut short is judged by its status.
  if (error && !(parser.has_head() && !error->ec && client_->stage() == Stage::ReplyBody))
    co_return Outcome::failure(error_layer(*error), error->reason, since(start),
                               parser.has_head() ? parser.head().status : 0);
  const int status = parser.head().status;
  const std::string body = http::excerpt(parser.body(), 80);
  if (status != check_.expect_status) {
    std::string reason = "HTTP status " + std::to_string(status) + ", expected " + std::to_string(check_.expect_status);
    if (!body.empty()) reason += ": " + body;
    co_return Outcome::failure(Layer::Http, std::move(reason), since(start), status);
  }
  std::string reason = "HTTP status " + std::to_string(status);
  if (body != "ok") reason += ", body not ok: " + (body.empty() ? std::string("(empty)") : body);
  co_return Outcome::success(Layer::Http, std::move(reason), since(start), status);
}

// The probe without its deadline: returns when it is decided; keep_ says whether the
// connection may carry the next probe (the caller closes it otherwise: the client must
// outlive bounded()).
asio::awaitable<Outcome> CheckConnection::run(bool opened, Clock::time_point start) {
  Connection how = Connection::Reused;
  if (opened) {
    if (auto error = co_await client_->connect(endpoint_)) {
      if (error->stage == Stage::Handshake) session_.reset();  // perhaps the session was refused
      Outcome o = Outcome::failure(error_layer(*error), error->reason, since(start));
      o.connection = error->stage == Stage::Connect ? Connection::None : Connection::New;
      co_return o;
    }
    // Any new connection is evidence that the backend accepts: the fresh connect is due
    // again only an interval later.
    const double r = random_ ? random_() : 0.5;
    fresh_due_ = Clock::now() + Schedule::apply_jitter(check_.fresh_connect_interval,
                                                       std::max(check_.jitter, 0.25), r);
    SSL* ssl = client_->ssl();
    how = ssl && SSL_session_reused(ssl) ? Connection::Resumed : Connection::New;
    if (check_.kind == config::CheckKind::Tcp) {
      Outcome o = Outcome::success(Layer::Connect, "connected", since(start));
      o.connection = how;
      co_return o;
    }
    if (check_.kind == config::CheckKind::Tls) {
      std::string reason = std::string("TLS handshake completed (") + SSL_get_version(ssl) + ")";
      if (how == Connection::Resumed) reason += ", resumed";
      const auto took = since(start);
      // TLS 1.3: the server finishes its side (and sends its session tickets) after our
      // Finished. Closing at once cut that short: the server saw a failed handshake (a
      // log line on a real apiserver for every probe) and sent no ticket to resume with.
      // So wait a moment, longer while no resumable session is held.
      const bool have_ticket = SSL_SESSION_is_resumable(SSL_get0_session(ssl));
      co_await client_->settle(std::min<Clock::duration>(check_.timeout / (have_ticket ? 8 : 2),
                                                         std::chrono::milliseconds(have_ticket ? 50 : 300)));
      remember_session();
      Outcome o = Outcome::success(Layer::Tls, std::move(reason), took);
      o.connection = how;
      co_return o;
    }
  }
  bool reusable = false;
  Outcome o = co_await exchange(start, &reusable);
  o.connection = how;
  o.request_sent = true;
  remember_session();
  keep_ = reusable && reuse_allowed() && Clock::now() < fresh_due_;
  co_return o;
}

asio::awaitable<Outcome> CheckConnection::attempt(bool reuse, Clock::time_point start) {
  if (!reuse) {
    const auto executor = co_await asio::this_coro::executor;
    open(executor, tls_);
  }
  http::Client& client = *client_;
  keep_ = false;
  auto result = co_await client.bounded(run(!reuse, start));
  if (result) {
    if (!keep_) close();
    co_return std::move(*result);
  }
  Outcome o = Outcome::failure(Layer::Timeout,
                               "timeout after " + format_duration(check_.timeout) + " " + stage_text(client.stage()),
                               since(start));
  o.connection = reuse ? Connection::Reused : client.stage() == Stage::Connect ? Connection::None : Connection::New;
  o.request_sent = client.stage() >= Stage::Request;
  client_.reset();  // bounded() closed it
  co_return o;
}

asio::awaitable<Outcome> CheckConnection::probe(asio::ssl::context* tls) {
  const auto start = Clock::now();
  if (check_.kind == config::CheckKind::None) co_return Outcome::success(Layer::Connect, "no check configured");
  const bool keep = check_.kind == config::CheckKind::Https && reuse_allowed();
  if (client_ && (!keep || start >= fresh_due_)) close();
  tls_ = tls;
  try {
    if (client_) {
      client_->restart_deadline();
      Outcome o = co_await attempt(true, start);
      // The kept-alive connection had ended (reset or closed before any reply): that
      // says nothing of the backend, a new connection does.
      const bool stale = !o.ok && o.layer != Layer::Timeout && o.http_status == 0;
      if (!stale) co_return o;
      close();
    }
    co_return co_await attempt(false, start);
  } catch (const std::exception& e) {
    // Cancelled from outside (the checker stopped).
    const Stage stage = client_ ? client_->stage() : Stage::Connect;
    close();
    co_return Outcome::failure(stage_layer(stage), std::string("probe cancelled: ") + e.what(), since(start));
  }
}

asio::awaitable<bool> CheckConnection::watch_idle() {
  auto [ec] = co_await client_->socket().async_wait(asio::socket_base::wait_read,
                                                    asio::experimental::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) co_return false;
  // Readable while idle: FIN, RST or unasked bytes (a close_notify). Not fit for a probe.
  close();
  co_return true;
}

}  // namespace kha::health
