// Server: listeners, TLS/plain connection coroutines, watch streams, the modes (hang, reset, refuse).
#include "standin/server.h"

#include <charconv>
#include <csignal>
#include <iostream>

#include <asio/experimental/as_tuple.hpp>

#include "common/log.h"
#include "tls/asio_context.h"
#include "tls/certificate.h"
#include "tls/context.h"

namespace kha::standin {
namespace {

using asio::awaitable;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxBody = 1024 * 1024;

// Closes with RST instead of FIN.
void hard_reset(tcp::socket::lowest_layer_type& s) {
  asio::error_code ec;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

// Removes a connection from the registry when its coroutine ends (or is destroyed).
struct LiveEntry {
  std::shared_ptr<std::map<std::uint64_t, tcp::socket*>> registry;
  std::uint64_t id;
  ~LiveEntry() { registry->erase(id); }
};

// Whether the peer presented a client certificate that verified (handshakes with an
// invalid one fail, so presence is enough).
bool has_client_cert(tcp::socket&) { return false; }
bool has_client_cert(asio::ssl::stream<tcp::socket>& s) {
  return SSL_get0_peer_certificate(s.native_handle()) != nullptr &&
         SSL_get_verify_result(s.native_handle()) == X509_V_OK;
}

std::string endpoint_text(const tcp::endpoint& e) { return HostPort{e.address().to_string(), e.port()}.to_string(); }

}  // namespace

Server::Server(Options options) : options_(std::move(options)) {
  state_.identity = options_.identity;
  state_.mode = options_.mode;
  state_.require_client_cert = !options_.client_ca_file.empty();
  state_.rbac = options_.rbac;
  mode_changed_.expires_at(asio::steady_timer::time_point::max());
}

Server::~Server() = default;

bool Server::resolve(const HostPort& where, tcp::endpoint* out, std::string* why) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(where.host, ec);
  if (!ec) {
    *out = tcp::endpoint(address, where.port);
    return true;
  }
  tcp::resolver resolver(io_);
  const auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
  if (ec || results.empty()) {
    *why = "cannot resolve " + where.host + ": " + (ec ? ec.message() : "no addresses");
    return false;
  }
  *out = results.begin()->endpoint();
  return true;
}

bool Server::open_listener(tcp::acceptor& a, const tcp::endpoint& where, std::string* why) {
  asio::error_code ec;
  a.open(where.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && where.address().is_v6()) a.set_option(asio::ip::v6_only(true), ec);
  if (!ec) a.bind(where, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) return true;
  *why = ec.message();
  asio::error_code ignored;
  a.close(ignored);
  return false;
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  if (!options_.plain) {
    tls::ServerOptions tls_options;
    tls_options.alpn_http11 = true;
    tls_options.client_ca_file = options_.client_ca_file;  // requested; 401 without one
    std::optional<tls::CertifiedKey> self_signed;
    if (options_.cert_file.empty() && options_.key_file.empty()) {
      tls::LeafOptions leaf;
      leaf.common_name = "kha-standin-" + options_.identity;
      leaf.names = {"127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default",
                    "kubernetes.default.svc"};
      if (options_.listen.host != "127.0.0.1" && options_.listen.host != "::1" && !options_.listen.host.empty())
        leaf.names.push_back(options_.listen.host);
      auto made = tls::make_self_signed(leaf);
      if (!made) {
        std::cerr << "kha standin: " << format_diagnostics(made.errors());
        return 1;
      }
      self_signed = std::move(made.value());
      tls_options.identity = &*self_signed;
    } else {
      tls_options.cert_file = options_.cert_file;
      tls_options.key_file = options_.key_file;
    }
    auto ctx = tls::make_server_context(tls_options);
    if (!ctx) {
      std::cerr << "kha standin: " << format_diagnostics(ctx.errors());
      return 1;
    }
    ssl_ = std::make_unique<asio::ssl::context>(tls::adopt(std::move(ctx.value())));
  }
  std::string why;
  tcp::endpoint where;
  if (!resolve(options_.listen, &where, &why) || !open_listener(acceptor_, where, &why)) {
    std::cerr << "kha standin: cannot listen on " << options_.listen.to_string() << ": " << why << "\n";
    return 1;
  }
  bound_ = acceptor_.local_endpoint();
  tcp::endpoint control_bound;
  if (options_.control) {
    if (!resolve(*options_.control, &where, &why) || !open_listener(control_acceptor_, where, &why)) {
      std::cerr << "kha standin: cannot listen on " << options_.control->to_string() << " (--control): " << why
                << "\n";
      return 1;
    }
    control_bound = control_acceptor_.local_endpoint();
  }
  endpoints_ = std::make_unique<EndpointSource>(
      options_.endpoints_file, std::vector<HostPort>{HostPort{bound_.address().to_string(), bound_.port()}});
  if (state_.mode == Mode::Refuse) {
    asio::error_code ec;
    acceptor_.close(ec);
  }
  std::cout << "listening " << endpoint_text(bound_) << std::endl;
  if (options_.control) std::cout << "control " << endpoint_text(control_bound) << std::endl;
  log::info("standin_started", {{"identity", options_.identity},
                                {"listen", endpoint_text(bound_)},
                                {"tls", options_.plain ? "off" : "on"},
                                {"mode", std::string(to_string(state_.mode))}});

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.async_wait([this](const asio::error_code& ec, int) {
    if (!ec) stop();
  });
  asio::co_spawn(io_, accept_loop(acceptor_, false), log::CoroutineEnd{"standin"});
  if (options_.control) asio::co_spawn(io_, accept_loop(control_acceptor_, true), log::CoroutineEnd{"standin"});
  io_.run();
  log::info("standin_stopped", {{"identity", options_.identity}});
  return 0;
}

void Server::stop() {
  stopping_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  control_acceptor_.close(ec);
  io_.stop();
}

awaitable<void> Server::wait_mode_change() { co_await mode_changed_.async_wait(kTuple); }

awaitable<void> Server::wait_while_hung(bool control) {
  while (!control && state_.mode == Mode::Hang && !stopping_) co_await wait_mode_change();
}

void Server::apply_mode(Mode mode, const tcp::socket::lowest_layer_type* keep) {
  if (mode == state_.mode) return;
  log::info("standin_mode", {{"identity", options_.identity},
                             {"from", std::string(to_string(state_.mode))},
                             {"to", std::string(to_string(mode))}});
  state_.mode = mode;
  if (mode == Mode::Reset) reset_live_connections(keep);
  if (mode == Mode::Refuse) {
    asio::error_code ec;
    acceptor_.close(ec);
  }
  mode_changed_.cancel();
}

void Server::reset_live_connections(const tcp::socket::lowest_layer_type* keep) {
  // Closing only queues the owners' completions; the map is not changed here.
  for (auto& [id, socket] : *live_)
    if (socket != keep) hard_reset(*socket);
}

awaitable<void> Server::accept_loop(tcp::acceptor& acceptor, bool control) {
  while (!stopping_) {
    if (!control && state_.mode == Mode::Refuse) {
      co_await wait_mode_change();
      continue;
    }
    if (!acceptor.is_open()) {
      std::string why;
      if (!open_listener(acceptor, bound_, &why)) {
        log::warn("standin_reopen_failed", {{"listen", endpoint_text(bound_)}, {"error", why}});
        asio::steady_timer pause(io_, std::chrono::milliseconds(200));
        co_await pause.async_wait(kTuple);
      }
      continue;
    }
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) continue;  // closed for Refuse or stop
    if (ec) {  // EMFILE and friends: back off instead of spinning
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    asio::co_spawn(io_, handle(std::move(socket), control), log::CoroutineEnd{"standin"});
  }
}

awaitable<void> Server::handle(tcp::socket socket, bool control) {
  if (!control) {
    ++state_.connections;
    // Hang: the connection waits here unread, so TLS never completes.
    while (state_.mode == Mode::Hang && !stopping_) co_await wait_mode_change();
    if (stopping_) co_return;
    if (state_.mode == Mode::Reset) {
      hard_reset(socket);
      co_return;
    }
  }
  asio::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (control || !ssl_) {
    LiveEntry entry{control ? std::make_shared<Registry>() : live_, next_id_++};
    (*entry.registry)[entry.id] = &socket;
    co_await serve(socket, control);
    co_return;
  }
  SslStream stream(std::move(socket), *ssl_);
  LiveEntry entry{live_, next_id_++};
  (*live_)[entry.id] = &stream.next_layer();
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (hec) {
    if (!SSL_in_before(stream.native_handle())) ++state_.handshakes_incomplete;
    co_return;
  }
  ++(SSL_session_reused(stream.native_handle()) ? state_.handshakes_resumed : state_.handshakes_full);
  co_await serve(stream, false);
}

template <class Stream>
awaitable<void> Server::serve(Stream& stream, bool control) {
  std::string buffer;
  const bool authenticated = has_client_cert(stream);
  for (;;) {
    auto [ec, head_size] =
        co_await asio::async_read_until(stream, asio::dynamic_buffer(buffer, kMaxHead), "\r\n\r\n", kTuple);
    if (ec) co_return;  // EOF, reset, oversized head, or closed by Reset
    std::string why;
    auto request = parse_request(std::string_view(buffer).substr(0, head_size), &why);
    buffer.erase(0, head_size);
    if (!request || request->content_length > kMaxBody) {
      const int status = request ? 413 : 400;
      const std::string out =
          serialize(Response{status, "text/plain; charset=utf-8", request ? "body too large\n" : why + "\n", {}},
                    state_.identity, false);
      co_await asio::async_write(stream, asio::buffer(out), kTuple);
      co_return;
    }
    if (buffer.size() < request->content_length) {
      auto [rec, n] = co_await asio::async_read(stream, asio::dynamic_buffer(buffer, kMaxHead + kMaxBody),
                                                asio::transfer_exactly(request->content_length - buffer.size()),
                                                kTuple);
      if (rec) co_return;
    }
    buffer.erase(0, request->content_length);
    co_await wait_while_hung(control);
    if (stopping_) co_return;
    ++state_.requests;
    if (!control) ++state_.data_requests;
    state_.live = live_->size();
    Reply reply = route(*request, state_, *endpoints_, authenticated);
    if (reply.stream != StreamKind::None) {
      if (!co_await stream_watch(stream, *request, reply.stream)) co_return;
      continue;
    }
    // The mode changes before the answer leaves, so that a client that saw the answer
    // sees the new mode on its next connect.
    if (reply.set_mode) apply_mode(*reply.set_mode, &stream.lowest_layer());
    const bool keep_alive = request->keep_alive();
    const std::string out = serialize(reply.response, state_.identity, keep_alive);
    auto [wec, written] = co_await asio::async_write(stream, asio::buffer(out), kTuple);
    if (!control && state_.mode == Mode::Reset) {
      hard_reset(stream.lowest_layer());
      co_return;
    }
    if (wec || !keep_alive) co_return;
  }
}

template <class Stream>
awaitable<bool> Server::stream_watch(Stream& stream, const Request& request, StreamKind kind) {
  const std::string head = serialize_stream_head(200, "application/json", state_.identity);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), kTuple);
  if (ec) co_return false;
  std::optional<std::chrono::steady_clock::time_point> end;
  const std::string timeout = request.query_value("timeoutSeconds");
  unsigned seconds = 0;
  if (!timeout.empty() && std::from_chars(timeout.data(), timeout.data() + timeout.size(), seconds).ec == std::errc())
    end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  asio::steady_timer timer(io_);
  std::uint64_t seq = 0;
  std::vector<nlohmann::json> slices;
  for (;;) {
    co_await wait_while_hung(false);
    if (stopping_) co_return false;
    std::string events;
    if (kind == StreamKind::Pods) {
      events = pod_event(state_.identity, ++seq);
    } else if (auto snap = endpoints_->read(); snap.error.empty()) {
      events = slice_events(slices, snap.slices);  // a bad file keeps the last good slices
      slices = std::move(snap.slices);
    }
    if (!events.empty()) {
      const std::string out = chunk(events);
      auto [wec, written] = co_await asio::async_write(stream, asio::buffer(out), kTuple);
      if (wec) co_return false;
    }
    const auto now = std::chrono::steady_clock::now();
    if (end && now >= *end) {
      const std::string last = chunk("");
      auto [wec, written] = co_await asio::async_write(stream, asio::buffer(last), kTuple);
      co_return !wec && request.keep_alive();
    }
    auto next = now + options_.watch_interval;
    if (end && *end < next) next = *end;
    timer.expires_at(next);
    auto [tec] = co_await timer.async_wait(kTuple);
    if (tec) co_return false;
  }
}

}  // namespace kha::standin
