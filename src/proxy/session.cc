#include "proxy/session.h"

#include <sys/socket.h>

#include "common/log.h"
#include "proxy/relay.h"
#include "proxy/upstream_race.h"

namespace kha::proxy {
namespace {

using asio::ip::tcp;

RaceSettings race_settings(const config::Frontend& f) {
  RaceSettings s;
  s.connect_timeout = f.timeouts.connect;
  s.connect_hedge = f.hedge.connect_delay;
  s.first_byte_hedge = f.hedge.first_byte_delay;
  s.first_bytes_max = f.hedge.first_bytes_max;
  s.max_attempts = f.max_connect_attempts;
  s.client_first = f.client_first;
  s.client_idle = std::min(f.timeouts.client_idle, f.timeouts.server_idle);
  return s;
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket client, FrontendPtr frontend, WorkerServices& services) {
  // Counted from accept (Worker::accept_loop) to the hand-over; the relay counts
  // itself from then on.
  struct Uncount {
    std::atomic<std::size_t>& n;
    ~Uncount() { n.fetch_sub(1, std::memory_order_relaxed); }
  } uncount{services.active};
  asio::error_code ec;
  client.native_non_blocking(true, ec);
  // TCP_NODELAY, keepalive and TCP_USER_TIMEOUT came with accept(): see Worker::listen.
  const auto settings = frontend->settings();
  const auto backends = frontend->backends().snapshot();
  frontend->stats().sessions_total.fetch_add(1, std::memory_order_relaxed);

  RaceHooks hooks;
  hooks.pick = [&](const std::vector<const pool::Backend*>& tried) {
    bool ignoring_health = false;
    auto b = frontend->backends().pick(*backends, tried, &ignoring_health);
    if (b && ignoring_health) frontend->stats().picks_ignoring_health.fetch_add(1, std::memory_order_relaxed);
    return b;
  };
  hooks.passive_failure = frontend->passive_failure;
  RaceOutcome race = co_await race_upstream(client, race_settings(*settings), hooks);
  if (!race.upstream) {
    frontend->stats().sessions_failed.fetch_add(1, std::memory_order_relaxed);
    log::debug("session_failed", {{"frontend", frontend->name()}, {"reason", race.failure}});
    co_return;  // the client socket closes with this frame
  }

  tcp::socket upstream = std::move(*race.upstream);
  auto& stats = race.backend->stats();
  stats.active_sessions.fetch_add(1, std::memory_order_relaxed);  // the relay takes it back when it ends
  stats.sessions_total.fetch_add(1, std::memory_order_relaxed);

  // Hand over what the race held back, then relay. The client is still ours alone:
  // nothing has been relayed yet, so a plain write is in order.
  if (!race.reply.empty()) {
    co_await asio::async_write(client, asio::buffer(race.reply), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) stats.bytes_to_client.fetch_add(race.reply.size(), std::memory_order_relaxed);
  }
  if (!ec && !race.client_pending.empty()) {
    co_await asio::async_write(upstream, asio::buffer(race.client_pending), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) stats.bytes_to_backend.fetch_add(race.client_pending.size(), std::memory_order_relaxed);
  }
  if (ec) {
    stats.active_sessions.fetch_sub(1, std::memory_order_relaxed);
    co_return;
  }
  if (race.client_eof) ::shutdown(upstream.native_handle(), SHUT_WR);
  const auto idle = std::min(settings->timeouts.client_idle, settings->timeouts.server_idle);
  services.relays->add(std::move(client), std::move(upstream), std::move(race.backend), race.client_eof, idle);
}

}  // namespace kha::proxy
