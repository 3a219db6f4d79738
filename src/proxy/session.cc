#include "proxy/session.h"

#include <sys/socket.h>

#include "common/log.h"
#include "proxy/event.h"
#include "proxy/pump.h"
#include "proxy/socket_options.h"
#include "proxy/upstream_race.h"

namespace kha::proxy {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

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

// Relay state shared by the two pumps and the watchdog of one session.
struct Relay {
  explicit Relay(const asio::any_io_executor& ex) : done(ex), watchdog(ex) {}
  Event done;
  asio::steady_timer watchdog;
  int running = 0;
  bool finished = false;  // both pumps ended: the watchdog must stop
  Clock::time_point last_activity = Clock::now();
};

asio::awaitable<void> run_pump(tcp::socket& from, tcp::socket& to, PumpContext ctx, SessionControl& control) {
  const PumpEnd end = co_await pump(from, to, ctx);
  if (end == PumpEnd::ReadError || end == PumpEnd::WriteError) control.close();  // a reset ends both ways
}

// Closes the session when no byte moved either way for `idle`. Both legs carry the
// same bytes, so the client and server idle timeouts act as one: the shorter wins.
asio::awaitable<void> run_watchdog(std::chrono::milliseconds idle, SessionControl& control, Relay& relay) {
  while (!relay.finished && !control.closing) {
    relay.watchdog.expires_at(relay.last_activity + idle);
    asio::error_code ec;
    co_await relay.watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (relay.finished || control.closing) break;
    if (Clock::now() >= relay.last_activity + idle) {
      log::debug("session_idle_timeout", {{"backend", control.backend->name()}});
      control.close();
    }
  }
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket client, FrontendPtr frontend, WorkerServices& services) {
  asio::error_code ec;
  client.native_non_blocking(true, ec);
  tune_session_socket(client.native_handle());
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
  stats.active_sessions.fetch_add(1, std::memory_order_relaxed);
  stats.sessions_total.fetch_add(1, std::memory_order_relaxed);

  SessionControl control{race.backend.get(), &client, &upstream};
  const auto handle = services.registry.add(&control);

  // Hand over what the race held back, then relay.
  if (!race.reply.empty()) {
    co_await asio::async_write(client, asio::buffer(race.reply), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) stats.bytes_to_client.fetch_add(race.reply.size(), std::memory_order_relaxed);
  }
  if (!ec && !race.client_pending.empty()) {
    co_await asio::async_write(upstream, asio::buffer(race.client_pending), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) stats.bytes_to_backend.fetch_add(race.client_pending.size(), std::memory_order_relaxed);
  }
  if (!ec && !control.closing) {
    auto ex = co_await asio::this_coro::executor;
    Relay relay(ex);
    auto on_done = [&relay](std::exception_ptr) {
      --relay.running;
      relay.done.notify();
    };
    PumpContext up{&services.pipes, services.splice, &stats.bytes_to_backend, &relay.last_activity, &control.closing};
    PumpContext down{&services.pipes, services.splice, &stats.bytes_to_client, &relay.last_activity, &control.closing};
    if (race.client_eof) {
      ::shutdown(upstream.native_handle(), SHUT_WR);
    } else {
      ++relay.running;
      asio::co_spawn(ex, run_pump(client, upstream, up, control), on_done);
    }
    ++relay.running;
    asio::co_spawn(ex, run_pump(upstream, client, down, control), on_done);
    const auto idle = std::min(settings->timeouts.client_idle, settings->timeouts.server_idle);
    bool watchdog_done = false;
    asio::co_spawn(ex, run_watchdog(idle, control, relay), [&](std::exception_ptr) {
      watchdog_done = true;
      relay.done.notify();
    });
    while (relay.running > 0) co_await relay.done.wait_until(Clock::time_point::max());
    relay.finished = true;
    relay.watchdog.cancel();
    while (!watchdog_done) co_await relay.done.wait_until(Clock::time_point::max());
  }

  services.registry.remove(handle);
  stats.active_sessions.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace kha::proxy
