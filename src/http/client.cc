// Client: connect, handshake, request and response over one connection (see client.h).
#include "http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/experimental/as_tuple.hpp>

#include "tls/context.h"

namespace kha::http {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

bool is_eof(const asio::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

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

Client::Client(const asio::any_io_executor& executor, ClientOptions options)
    : options_(std::move(options)), plain_(executor), deadline_(Clock::now() + options_.timeout) {
  if (options_.tls) tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(executor, *options_.tls);
}

void Client::touch() {
  if (options_.idle) deadline_ = Clock::now() + options_.timeout;
}

asio::awaitable<void> Client::expiry() {
  asio::steady_timer timer(socket().get_executor());
  while (Clock::now() < deadline_) {
    timer.expires_at(deadline_);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // cancelled: the work finished first
  }
}

void Client::abort() {
  asio::error_code ec;
  auto& s = socket();
  if (!s.is_open()) return;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

asio::awaitable<std::vector<tcp::endpoint>> resolve(HostPort where, std::string* error) {
  std::vector<tcp::endpoint> endpoints;
  asio::error_code ec;
  const auto literal = asio::ip::make_address(where.host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, where.port);
    co_return endpoints;
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [rec, results] = co_await resolver.async_resolve(where.host, std::to_string(where.port), use_tuple);
  if (rec) {
    *error = "cannot resolve " + where.host + ": " + rec.message();
    co_return endpoints;
  }
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  if (endpoints.empty()) *error = "cannot resolve " + where.host + ": no addresses";
  co_return endpoints;
}

asio::awaitable<std::optional<Error>> Client::connect(const tcp::endpoint& endpoint) {
  stage_ = Stage::Connect;
  auto [ec] = co_await socket().async_connect(endpoint, use_tuple);
  if (ec) {
    asio::error_code ignored;
    socket().close(ignored);
    co_return Error{Stage::Connect, ec, "connect: " + ec.message()};
  }
  asio::error_code ignored;
  socket().set_option(tcp::no_delay(true), ignored);
  if (!tls_) co_return std::nullopt;
  co_return co_await handshake();
}

asio::awaitable<std::optional<Error>> Client::handshake() {
  stage_ = Stage::Handshake;
  if (!tls::set_peer_name(tls_->native_handle(), options_.peer_name, options_.verify_name))
    co_return Error{Stage::Handshake, {}, "TLS: cannot use server name " + options_.peer_name};
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!ec) co_return std::nullopt;
  if (is_eof(ec)) co_return Error{Stage::Handshake, ec, "TLS handshake: peer closed the connection"};
  std::string reason = "TLS handshake: " + ec.message();
  const long verify = SSL_get_verify_result(tls_->native_handle());
  if (verify != X509_V_OK) reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  co_return Error{Stage::Handshake, ec, std::move(reason)};
}

asio::awaitable<void> Client::settle(std::chrono::steady_clock::duration wait) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(socket().get_executor(), wait);
  char sink[512];
  auto read = tls_ ? tls_->async_read_some(asio::buffer(sink), use_tuple)
                   : plain_.async_read_some(asio::buffer(sink), use_tuple);
  auto expired = timer.async_wait(use_tuple);
  co_await (std::move(read) || std::move(expired));
}

asio::awaitable<std::optional<Error>> Client::exchange(std::string_view request, ResponseParser& parser,
                                                       const BodySink& sink) {
  stage_ = Stage::Request;
  touch();
  std::tuple<asio::error_code, std::size_t> wrote;
  if (tls_) wrote = co_await asio::async_write(*tls_, asio::buffer(request), use_tuple);
  else wrote = co_await asio::async_write(plain_, asio::buffer(request), use_tuple);
  const auto wec = std::get<0>(wrote);
  if (wec) co_return Error{Stage::Request, wec, "send request: " + wec.message()};

  stage_ = Stage::ReplyHead;
  Progress progress = parser.next();
  char chunk[16384];
  for (;;) {
    if (parser.has_head()) stage_ = Stage::ReplyBody;
    if (sink && !parser.body().empty() && !sink(parser.take_body())) co_return std::nullopt;
    if (progress == Progress::Complete) co_return std::nullopt;
    if (progress == Progress::Failed) co_return Error{stage_, {}, parser.error()};
    std::tuple<asio::error_code, std::size_t> read;
    if (tls_) read = co_await tls_->async_read_some(asio::buffer(chunk), use_tuple);
    else read = co_await plain_.async_read_some(asio::buffer(chunk), use_tuple);
    const auto [ec, n] = read;
    if (n > 0) {
      touch();
      progress = parser.feed(std::string_view(chunk, n));
    }
    if (!ec) continue;
    if (is_eof(ec)) {
      progress = parser.finish();
    } else if (ec.category() == asio::error::get_ssl_category()) {
      // TLS 1.3: a rejected client certificate arrives as an alert on the first read.
      co_return Error{stage_, ec, "TLS: " + ec.message()};
    } else {
      co_return Error{stage_, ec, "read reply: " + ec.message()};
    }
  }
}

}  // namespace kha::http
