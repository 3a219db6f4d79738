// Server: the stand-in kube-apiserver process (`kha standin`). One thread, one
// io_context, C++20 coroutines. Owns the data listener (TLS or plain), the optional
// plain control listener, every connection and the mode/readiness state.
//
// Lifetime: construct, run() until SIGTERM/SIGINT; run() closes everything it opened.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "standin/endpoint_slices.h"
#include "standin/http.h"
#include "standin/routes.h"
#include "standin/state.h"

namespace kha::standin {

class Server {
 public:
  explicit Server(Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, prints "listening HOST:PORT" (and "control HOST:PORT" when a control
  // listener is configured) on stdout, serves until SIGTERM or SIGINT, then returns 0.
  // Returns 1 when TLS setup or binding fails (the reason is on stderr).
  int run();

 private:
  using tcp = asio::ip::tcp;
  using SslStream = asio::ssl::stream<tcp::socket>;

  bool open_listener(tcp::acceptor& acceptor, const tcp::endpoint& where, std::string* why);
  bool resolve(const HostPort& where, tcp::endpoint* out, std::string* why);
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool control);
  asio::awaitable<void> handle(tcp::socket socket, bool control);
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, bool control);
  // Streams watch events until the client leaves; true when the stream ended by
  // timeoutSeconds and the connection may carry another request.
  template <class Stream>
  asio::awaitable<bool> stream_watch(Stream& stream, const Request& request, StreamKind kind);
  asio::awaitable<void> wait_mode_change();
  asio::awaitable<void> wait_while_hung(bool control);
  // Switches mode; Reset resets every live data connection except `keep` (the one
  // that asked, which is reset after its answer).
  void apply_mode(Mode mode, const tcp::socket::lowest_layer_type* keep);
  void reset_live_connections(const tcp::socket::lowest_layer_type* keep);
  void stop();

  Options options_;
  State state_;
  asio::io_context io_{1};
  std::unique_ptr<asio::ssl::context> ssl_;  // null with --plain
  tcp::acceptor acceptor_{io_};
  tcp::acceptor control_acceptor_{io_};
  tcp::endpoint bound_;  // the data listener's address after bind (real port)
  asio::steady_timer mode_changed_{io_};  // never expires; cancel() wakes every waiter
  asio::signal_set signals_{io_};
  std::unique_ptr<EndpointSource> endpoints_;
  // Open data connections, for Reset. Each entry is removed by its connection; shared
  // so that connection frames destroyed after the Server (by io_'s destructor) can.
  using Registry = std::map<std::uint64_t, tcp::socket*>;
  std::shared_ptr<Registry> live_ = std::make_shared<Registry>();
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
};

}  // namespace kha::standin
