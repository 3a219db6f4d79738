// The attempts of a session's race: one upstream connect each (resolve, connect, send
// the client's first bytes, read the first answer), and which failures count against
// the backend. Runs on the worker's thread; the race itself is session_race.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/local_error.h"
#include "proxy/hub.h"
#include "proxy/session.h"
#include "proxy/session_events.h"
#include "proxy/socket_options.h"

namespace kha::proxy {
namespace {

using asio::ip::tcp;

// Backends that closed on a client's first bytes before the client is given up: a TLS
// server closes without a word only on bytes it rejects, and the next one would too.
constexpr int kMaxRejections = 2;

// The backend's address as a socket address, when it is a literal (no resolver).
std::optional<tcp::endpoint> literal_endpoint(const HostPort& addr) {
  in_addr v4{};
  if (::inet_pton(AF_INET, addr.host.c_str(), &v4) == 1)
    return tcp::endpoint(asio::ip::address_v4(ntohl(v4.s_addr)), addr.port);
  asio::ip::address_v6::bytes_type v6{};
  if (::inet_pton(AF_INET6, addr.host.c_str(), v6.data()) == 1) return tcp::endpoint(asio::ip::address_v6(v6), addr.port);
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------- Attempt

Attempt::Attempt(Hub& h, Session& s, pool::BackendPtr b) : hub(h), session(&s), backend(std::move(b)) {
  backend->stats().connecting.fetch_add(1, std::memory_order_relaxed);
}

Attempt::~Attempt() {
  hub.clear_deadline(*this);
  close_socket();
  uncount();
}

void Attempt::uncount() {
  if (!counted) return;
  counted = false;
  backend->stats().connecting.fetch_sub(1, std::memory_order_relaxed);
}

void Attempt::close_socket() {
  if (fd >= 0) ::close(fd);  // also leaves the hub's epoll set
  fd = -1;
}

int Attempt::take_socket() {
  const int f = fd;
  fd = -1;
  return f;
}

void Attempt::on_event(std::uint32_t events, unsigned) {
  if (state == State::Orphan) {
    // An answer, a close or a reset: the backend is alive, whatever it said.
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hub.release_orphan(*this);
    return;
  }
  if (session && !session->dead_) session->on_attempt_event(*this, events);
}

void Attempt::on_deadline() {
  if (state != State::Orphan) return;
  if (frontend && frontend->passive_failure)
    frontend->passive_failure(backend, "no answer within " + std::to_string(connect_timeout.count()) + "ms");
  hub.release_orphan(*this);
}

// ---------------------------------------------------------------- Session: attempts

void Session::start_attempt(Hedge hedge) {
  Race& r = *race_;
  if (static_cast<int>(r.attempts.size()) >= r.settings.max_attempts) {
    r.can_start_more = false;
    return;
  }
  bool ignoring_health = false;
  // The clock only when slow start is on: off (the default), a pick reads no time.
  const auto now = r.settings.slow_start.count() > 0 ? RaceClock::now() : RaceClock::time_point{};
  auto backend = frontend_->backends().pick(*r.backends, r.tried, &ignoring_health, now, r.settings.slow_start);
  if (!backend) {
    r.can_start_more = false;
    return;
  }
  if (hedge != Hedge::None && !frontend_->hedge_budget().try_spend()) {
    frontend_->stats().hedges_refused.fetch_add(1, std::memory_order_relaxed);
    r.can_hedge = false;  // this session waits on what it has; retries after failures still run
    return;
  }
  if (ignoring_health) frontend_->stats().picks_ignoring_health.fetch_add(1, std::memory_order_relaxed);
  if (!r.attempts.empty()) {
    auto& hedged = r.attempts.back()->backend->stats();
    if (hedge == Hedge::Connect) hedged.hedged_connects.fetch_add(1, std::memory_order_relaxed);
    if (hedge == Hedge::FirstByte) hedged.hedged_first_bytes.fetch_add(1, std::memory_order_relaxed);
  }
  r.tried.push_back(backend.get());
  Attempt& a = *r.attempts.emplace_back(std::make_unique<Attempt>(hub_, *this, std::move(backend)));
  const auto& addr = a.backend->address();
  if (auto endpoint = literal_endpoint(addr)) return connect_attempt(a, *endpoint);
  // A name: the addresses its owner resolved it to, the ones its checker probes
  // (pool::Backend::resolved), tried in order.
  if (const auto resolved = a.backend->resolved(); !resolved->empty()) {
    for (const auto& ip : *resolved)
      if (auto endpoint = literal_endpoint(HostPort{ip, addr.port})) a.addresses.push_back(*endpoint);
    if (!a.addresses.empty()) {
      a.next_address = 1;
      return connect_attempt(a, a.addresses.front());
    }
  }
  // Not resolved yet (the first answer is pending): resolved here, off the worker
  // thread; the race goes on meanwhile.
  a.alive = std::make_shared<char>();
  hub_.resolve(addr.host, addr.port,
               [&a, alive = std::weak_ptr<char>(a.alive)](const std::error_code& ec, std::vector<tcp::endpoint> found) {
                 if (alive.expired()) return;  // the attempt is gone
                 if (a.session) a.session->on_resolved(a, ec, std::move(found));
               });
}

void Session::on_resolved(Attempt& a, const std::error_code& ec, std::vector<tcp::endpoint> addresses) {
  if (dead_ || !race_ || a.state != Attempt::State::Resolving) return;
  if (ec) {
    attempt_failed(a, "resolve failed: " + ec.message());
  } else {
    a.addresses = std::move(addresses);
    a.next_address = 1;
    connect_attempt(a, a.addresses.front());
  }
  step();
}

void Session::connect_failed(Attempt& a, int err) {
  if (a.next_address >= a.addresses.size()) return attempt_failed(a, "connect failed: " + error_text(err));
  a.close_socket();
  connect_attempt(a, a.addresses[a.next_address++]);
}

void Session::connect_attempt(Attempt& a, const tcp::endpoint& endpoint) {
  a.fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // Out of descriptors (EMFILE) is this process's trouble, not the backend's.
  if (a.fd < 0) return attempt_failed(a, "socket failed: " + error_text(errno), false);
  set_nodelay(a.fd);  // the liveness options come later, if the session lasts (SessionRegistry::sweep)
  a.state = Attempt::State::Connecting;
  if (::connect(a.fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0 && errno != EINPROGRESS) {
    // No local port (EADDRNOTAVAIL) and the like: this host's shortage, not the backend's.
    if (is_local_resource_error(errno)) return attempt_failed(a, "connect failed here: " + error_text(errno), false);
    return connect_failed(a, errno);
  }
  // Edge-triggered, from now to close: the completed connect raises EPOLLOUT.
  if (!hub_.watch(a.fd, a, 0, kSessionEvents)) return attempt_failed(a, "register failed: " + error_text(errno), false);
  // On a near backend (loopback, same host) the handshake is often over when connect()
  // returns: a send that goes through says so, and saves waiting for the event.
  if (!race_->client_bytes.empty()) {
    const ssize_t n = ::send(a.fd, race_->client_bytes.data(), race_->client_bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return connect_failed(a, errno);
    if (n <= 0) return;  // still connecting
    connected(a);
    a.first_sent = HubClock::now();
    a.sent = static_cast<std::size_t>(n);
    send_client_bytes(a);
  }
}

void Session::connected(Attempt& a) {
  a.backend->stats().observe_connect_latency(
      std::chrono::duration_cast<std::chrono::microseconds>(HubClock::now() - a.started));
  a.state = Attempt::State::Connected;
}

void Session::attempt_failed(Attempt& a, const std::string& reason, bool blame_backend) {
  a.state = Attempt::State::Failed;
  a.close_socket();
  a.uncount();
  if (!blame_backend) return;
  a.backend->stats().connect_failures.fetch_add(1, std::memory_order_relaxed);
  if (frontend_->passive_failure) frontend_->passive_failure(a.backend, reason);
}

void Session::on_attempt_event(Attempt& a, std::uint32_t events) {
  if (!race_) return;
  if (a.state == Attempt::State::Connecting) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      connect_failed(a, err ? err : ECONNREFUSED);
      return step();
    }
    if (!(events & EPOLLOUT)) return;
    connected(a);
    send_client_bytes(a);
  } else if (a.state == Attempt::State::Connected) {
    if (events & EPOLLOUT) send_client_bytes(a);
  }
  if (a.state == Attempt::State::Connected && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    read_answer(a, events);
    if (!race_ || dead_) return;  // handed over, or ended
  }
  step();
}

void Session::send_client_bytes(Attempt& a) {
  Race& r = *race_;
  while (a.sent < r.client_bytes.size()) {
    if (!a.first_sent) a.first_sent = HubClock::now();
    const ssize_t n = ::send(a.fd, r.client_bytes.data() + a.sent, r.client_bytes.size() - a.sent, MSG_NOSIGNAL);
    if (n > 0) {
      a.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT comes back
    return attempt_failed(a, "write failed before first byte: " + error_text(errno));
  }
  if (r.client_eof && !a.shut_write) {
    ::shutdown(a.fd, SHUT_WR);
    a.shut_write = true;
  }
}
void Session::read_answer(Attempt& a, std::uint32_t events) {
  char* buf = relay_scratch();
  for (;;) {
    const ssize_t n = ::recv(a.fd, buf, kCopyChunk, 0);
    if (n > 0) return hand_over(a, buf, static_cast<std::size_t>(n), events & (EPOLLRDHUP | EPOLLHUP));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n == 0 && a.shut_write) {
      // The client had finished (EOF forwarded) and the backend closed in turn: an
      // orderly end of the session, not a backend failure (a TCP check of our listener).
      return hand_over(a, nullptr, 0, true);
    }
    const char* what = n == 0 ? "closed before first byte" : "reset before first byte";
    if (a.sent == 0) return attempt_failed(a, what);  // it closed on nothing: its own doing
    // It closed on the client's bytes: a TLS server does so only on bytes it rejects
    // (garbage, a broken hello), so the client is to blame, not the backend (issue
    // #14: two garbage connections took every backend down). Tried on one more
    // backend at most, and only if they may be replayed at all.
    attempt_failed(a, what, false);
    if (++race_->rejections >= kMaxRejections || race_->replay == Replay::Unsafe) {
      race_->can_start_more = false;
      frontend_->stats().client_rejected.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
}

}  // namespace kha::proxy
