#include "proxy/upstream_race.h"

#include <sys/socket.h>

#include <memory>

#include <asio/experimental/awaitable_operators.hpp>

#include "proxy/event.h"
#include "proxy/socket_options.h"

namespace kha::proxy {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t kReplyChunk = 16 * 1024;

enum class AttemptState { Connecting, Connected, Answered, Failed, Won, Abandoned };

struct RaceState;

// One connection attempt to one backend; owned jointly by the race and its task,
// so an abandoned attempt can finish its verdict after the session moved on.
struct Attempt {
  Attempt(const asio::any_io_executor& ex, pool::BackendPtr b) : backend(std::move(b)), socket(ex), deadline(ex) {}
  pool::BackendPtr backend;
  tcp::socket socket;
  asio::steady_timer deadline;  // connect timeout, then the silence verdict
  AttemptState state = AttemptState::Connecting;
  std::size_t sent = 0;  // client bytes written to this backend
  Clock::time_point started = Clock::now();
  std::optional<Clock::time_point> first_sent;
  std::vector<char> reply;
  bool task_done = false;
};

struct RaceState {
  explicit RaceState(const asio::any_io_executor& ex) : wake(ex), grew(ex) {}
  Event wake;  // the race's main loop: something changed
  Event grew;  // attempts: client bytes arrived, or their state was changed from outside
  std::vector<char> client_bytes;
  bool client_eof = false;
  bool client_error = false;
  bool reader_done = true;
  bool reader_stop = false;
};

AttemptPhase phase_of(AttemptState s) {
  switch (s) {
    case AttemptState::Connecting: return AttemptPhase::Connecting;
    case AttemptState::Connected: return AttemptPhase::Connected;
    case AttemptState::Answered: return AttemptPhase::Answered;
    default: return AttemptPhase::Done;
  }
}

void fail(Attempt& a, RaceState& race, const RaceHooks& hooks, const std::string& reason) {
  a.state = AttemptState::Failed;
  a.backend->stats().connect_failures.fetch_add(1, std::memory_order_relaxed);
  if (hooks.passive_failure) hooks.passive_failure(a.backend, reason);
  race.wake.notify();
}

asio::awaitable<void> run_attempt(std::shared_ptr<Attempt> a, std::shared_ptr<RaceState> race, RaceHooks hooks,
                                  RaceSettings settings) {
  const auto& addr = a->backend->address();
  asio::error_code ec;
  tcp::endpoint endpoint;
  if (auto ip = asio::ip::make_address(addr.host, ec); !ec) {
    endpoint = tcp::endpoint(ip, addr.port);
  } else {
    tcp::resolver resolver(a->socket.get_executor());
    auto results = co_await resolver.async_resolve(addr.host, std::to_string(addr.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec || results.empty()) {
      if (a->state == AttemptState::Connecting) fail(*a, *race, hooks, "resolve failed: " + ec.message());
      a->task_done = true;
      co_return;
    }
    endpoint = results.begin()->endpoint();
  }

  // Connect, raced against the connect timeout.
  a->deadline.expires_after(settings.connect_timeout);
  auto connected = co_await (a->socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec)) ||
                             a->deadline.async_wait(asio::use_awaitable));
  if (a->state == AttemptState::Abandoned) {
    a->socket.close(ec);
    a->task_done = true;
    co_return;
  }
  if (connected.index() == 1) {
    fail(*a, *race, hooks, "connect timeout after " + std::to_string(settings.connect_timeout.count()) + "ms");
    a->task_done = true;
    co_return;
  }
  if (ec) {
    fail(*a, *race, hooks, "connect failed: " + ec.message());
    a->task_done = true;
    co_return;
  }
  a->backend->stats().observe_connect_latency(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - a->started));
  a->socket.native_non_blocking(true, ec);
  tune_session_socket(a->socket.native_handle());
  a->state = AttemptState::Connected;
  race->wake.notify();

  bool shut_write = false;
  for (;;) {
    if (a->state == AttemptState::Won) break;
    if (a->state == AttemptState::Abandoned && !a->first_sent) break;
    if (a->state == AttemptState::Connected && a->sent < race->client_bytes.size()) {
      if (!a->first_sent) a->first_sent = Clock::now();
      const std::size_t from = a->sent;
      a->sent = race->client_bytes.size();
      // The buffer only grows while the race runs, and the race outlives this write.
      co_await asio::async_write(a->socket, asio::buffer(race->client_bytes.data() + from, a->sent - from),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec && a->state == AttemptState::Connected) {
        fail(*a, *race, hooks, "write failed before first byte: " + ec.message());
        break;
      }
      race->wake.notify();  // the race may be waiting for this write to commit
      continue;
    }
    if (a->state == AttemptState::Connected && race->client_eof && !shut_write) {
      ::shutdown(a->socket.native_handle(), SHUT_WR);
      shut_write = true;
    }
    if (a->state == AttemptState::Abandoned) {
      // Verdict on a loser that was sent bytes: silence for the whole connect
      // timeout counts as a passive failure (a hung backend), an answer does not.
      a->deadline.expires_at(*a->first_sent + settings.connect_timeout);
      auto r = co_await (a->socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec)) ||
                         a->deadline.async_wait(asio::use_awaitable));
      if (r.index() == 1 && hooks.passive_failure)
        hooks.passive_failure(a->backend, "no answer within " + std::to_string(settings.connect_timeout.count()) + "ms");
      break;
    }
    auto r = co_await (a->socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec)) ||
                       race->grew.wait());
    if (r.index() == 1 || a->state != AttemptState::Connected) continue;
    if (ec) {
      fail(*a, *race, hooks, "wait failed before first byte: " + ec.message());
      break;
    }
    a->reply.resize(kReplyChunk);
    const ssize_t n = ::recv(a->socket.native_handle(), a->reply.data(), a->reply.size(), 0);
    if (n > 0) {
      a->reply.resize(static_cast<std::size_t>(n));
      a->state = AttemptState::Answered;
      race->wake.notify();
      break;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n == 0 && shut_write) {
      // The client had finished (EOF forwarded) and the backend closed in turn: an
      // orderly end of the session, not a backend failure (a TCP check of our listener).
      a->reply.clear();
      a->state = AttemptState::Answered;
      race->wake.notify();
      break;
    }
    fail(*a, *race, hooks, n == 0 ? "closed before first byte" : "reset before first byte");
    break;
  }
  if (a->state == AttemptState::Abandoned || a->state == AttemptState::Failed) a->socket.close(ec);
  a->task_done = true;
  race->wake.notify();
}

// Reads the client's first bytes into the race buffer until told to stop.
asio::awaitable<void> read_client(tcp::socket& client, std::shared_ptr<RaceState> race, std::size_t max) {
  while (!race->reader_stop && race->client_bytes.size() < max) {
    asio::error_code ec;
    co_await client.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (race->reader_stop) break;
    if (ec) {
      race->client_error = true;
      break;
    }
    const std::size_t have = race->client_bytes.size();
    race->client_bytes.resize(max);
    const ssize_t n = ::recv(client.native_handle(), race->client_bytes.data() + have, max - have, 0);
    race->client_bytes.resize(have + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (n > 0) {
      race->grew.notify();
      race->wake.notify();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n == 0) race->client_eof = true;
    else race->client_error = true;
    race->grew.notify();
    break;
  }
  race->reader_done = true;
  race->wake.notify();
}

}  // namespace

asio::awaitable<RaceOutcome> race_upstream(tcp::socket& client, const RaceSettings& s, const RaceHooks& hooks) {
  auto ex = co_await asio::this_coro::executor;
  auto race = std::make_shared<RaceState>(ex);
  race->client_bytes.reserve(s.first_bytes_max);  // never reallocated: attempts write from it
  RaceOutcome out;
  std::vector<std::shared_ptr<Attempt>> attempts;
  std::vector<const pool::Backend*> tried;

  bool can_start_more = true;
  auto start_attempt = [&]() {
    if (static_cast<int>(attempts.size()) >= s.max_attempts) return can_start_more = false;
    auto backend = hooks.pick(tried);
    if (!backend) return can_start_more = false;
    tried.push_back(backend.get());
    auto a = std::make_shared<Attempt>(ex, std::move(backend));
    attempts.push_back(a);
    asio::co_spawn(ex, run_attempt(a, race, hooks, s), [](std::exception_ptr) {});
    return true;
  };

  if (s.client_first) {
    race->reader_done = false;
    asio::co_spawn(ex, read_client(client, race, s.first_bytes_max), [](std::exception_ptr) {});
  }
  const auto started = Clock::now();
  start_attempt();

  std::shared_ptr<Attempt> winner;
  std::vector<AttemptView> views;
  for (;;) {
    views.clear();
    for (const auto& a : attempts) views.push_back({phase_of(a->state), a->started, a->first_sent, a->sent});
    const RaceView view{views, race->client_bytes.size(), race->client_eof, race->client_error,
                        can_start_more && static_cast<int>(attempts.size()) < s.max_attempts, started};
    const Decision d = decide(s, view, Clock::now());
    if (d.kind == Decision::Kind::Win) {
      winner = attempts[d.winner];
      break;
    }
    if (d.kind == Decision::Kind::Fail) {
      out.failure = d.failure;
      break;
    }
    if (d.kind == Decision::Kind::Start) {
      const auto hedged = attempts.empty() ? nullptr : attempts.back()->backend;
      if (start_attempt() && hedged) {
        if (d.hedge == Hedge::Connect) hedged->stats().hedged_connects.fetch_add(1, std::memory_order_relaxed);
        if (d.hedge == Hedge::FirstByte) hedged->stats().hedged_first_bytes.fetch_add(1, std::memory_order_relaxed);
      }
      continue;  // a failed start cleared can_start_more: no busy loop
    }
    co_await race->wake.wait_until(d.wait_until);
  }

  // Stop the client reader before anyone else touches the client socket.
  race->reader_stop = true;
  asio::error_code ec;
  client.cancel(ec);
  while (!race->reader_done) co_await race->wake.wait_until(Clock::time_point::max());

  for (auto& a : attempts) {
    if (a == winner) continue;
    if (a->state == AttemptState::Connecting || a->state == AttemptState::Connected) {
      const bool connecting = a->state == AttemptState::Connecting;
      a->state = AttemptState::Abandoned;
      if (connecting) a->socket.cancel(ec);
    }
  }
  race->grew.notify();
  out.attempts = static_cast<int>(attempts.size());
  out.client_eof = race->client_eof;
  if (!winner) co_return out;
  if (winner->state == AttemptState::Connected) {
    winner->state = AttemptState::Won;
    race->grew.notify();
  }
  while (!winner->task_done) co_await race->wake.wait_until(Clock::time_point::max());
  out.backend = winner->backend;
  out.reply = std::move(winner->reply);
  out.client_pending.assign(race->client_bytes.begin() + static_cast<std::ptrdiff_t>(winner->sent),
                            race->client_bytes.end());
  out.upstream.emplace(std::move(winner->socket));
  co_return out;
}

}  // namespace kha::proxy
