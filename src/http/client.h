// Client: one HTTP/1.1 client connection over TCP or TLS on Asio C++20 coroutines, the
// exchange health probes, discovery and the blocking fetch() share: connect, TLS handshake
// with SNI and name verification, write a request, read the response with ResponseParser,
// all bounded by one deadline raced against the work (Asio 1.22 has no cancel_after).
// The client never throws for network failures; every failure is an Error with its stage.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>

#include "common/address.h"
#include "http/response.h"

namespace kha::http {

// Where an exchange is; read after a timeout to say which step was too slow.
enum class Stage { Connect, Handshake, Request, ReplyHead, ReplyBody };

// "during connect", "during TLS handshake", "sending HTTP request", "waiting for HTTP
// status", "reading HTTP body".
const char* stage_text(Stage stage);

struct Error {
  Stage stage = Stage::Connect;
  std::error_code ec;  // the socket or TLS error; empty when the reply itself was bad
  // "connect: Connection refused", "TLS handshake: certificate verify failed (hostname
  // mismatch)", "send request: ...", "TLS: ...", "read reply: ...", or the parser's error.
  std::string reason;
};

struct ClientOptions {
  asio::ssl::context* tls = nullptr;  // null: plain TCP; borrowed, outlives the client
  // SNI and the name the certificate must carry. An IP literal sends no SNI and is checked
  // against the IP SANs; "" sends no SNI and checks nothing.
  std::string peer_name{};
  bool verify_name = true;  // only matters with a context that verifies the peer
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);
  // false: the deadline is construction + timeout, for the whole exchange (a probe).
  // true: every write and every read that brings bytes pushes it to now + timeout (a
  // watch stream that may last minutes but must not fall silent).
  bool idle = false;
};

// Called with each piece of decoded body as it arrives; false stops reading (the
// connection is then not reusable).
using BodySink = std::function<bool(std::string_view piece)>;

// The endpoints of `where`: an IP literal without a resolver (and no resolver thread), a
// name through DNS. Empty with *error set ("cannot resolve NAME: ...") when there are none.
asio::awaitable<std::vector<asio::ip::tcp::endpoint>> resolve(HostPort where, std::string* error);

class Client {
 public:
  Client(const asio::any_io_executor& executor, ClientOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // TCP connect (TCP_NODELAY), then the TLS handshake when the options carry a context.
  // A failed TCP connect closes the socket, so another endpoint may be tried.
  asio::awaitable<std::optional<Error>> connect(const asio::ip::tcp::endpoint& endpoint);

  // Writes `request` (http::serialize) and reads one response into `parser` (next() is
  // called first, so one parser serves a keep-alive connection). With `sink`, the decoded
  // body goes to it instead of staying in the parser. Returns nullopt when the response is
  // complete, or the sink stopped it.
  asio::awaitable<std::optional<Error>> exchange(std::string_view request, ResponseParser& parser,
                                                 const BodySink& sink = {});

  // Runs `work` against the deadline: nullopt when the deadline passed first (the work is
  // cancelled and the connection closed). Throws only when cancelled from outside.
  template <class T>
  asio::awaitable<std::optional<T>> bounded(asio::awaitable<T> work) {
    using namespace asio::experimental::awaitable_operators;
    auto result = co_await (std::move(work) || expiry());
    if (result.index() == 0) co_return std::get<0>(std::move(result));
    abort();
    co_return std::nullopt;
  }

  Stage stage() const { return stage_; }
  // The TLS connection; null for plain TCP.
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }
  asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  // Closes at once with a reset (SO_LINGER 0); pending operations end with an error.
  void abort();
  // Sets the deadline to now + timeout, for the next exchange on a kept-alive connection.
  void restart_deadline() { deadline_ = std::chrono::steady_clock::now() + options_.timeout; }
  // Reads what the peer sends unasked for up to `wait` and drops it: TLS 1.3 session
  // tickets arrive after the handshake and are taken only by a read. The connection is
  // only fit to be closed afterwards. Returns early when the peer closes.
  asio::awaitable<void> settle(std::chrono::steady_clock::duration wait);

 private:
  void touch();
  asio::awaitable<void> expiry();  // returns when the deadline passes
  asio::awaitable<std::optional<Error>> handshake();

  ClientOptions options_;
  asio::ip::tcp::socket plain_;                                      // used when options_.tls is null
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;  // non-null with a context
  std::chrono::steady_clock::time_point deadline_;
  Stage stage_ = Stage::Connect;
};

}  // namespace kha::http
