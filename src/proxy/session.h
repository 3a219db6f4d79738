// Session: one client connection and, once the race picked it, one backend
// connection (Envoy's downstream and upstream legs).
//
// Phases: race (upstream_race.h, a coroutine: short-lived and full of timers) ->
// relay (relay.h, a callback object: long-lived and mostly idle, so it must be small).
// run_session returns when the relay starts; the relay owns both sockets from then on.
#pragma once

#include <atomic>
#include <cstddef>

#include <asio.hpp>

#include "proxy/frontend_runtime.h"
#include "proxy/pipe_pool.h"
#include "proxy/session_registry.h"

namespace kha::proxy {

class RelayHub;

// Per-worker resources that sessions borrow.
struct WorkerServices {
  PipePool pipes;
  SessionRegistry registry;
  bool splice = true;
  std::atomic<std::size_t> active{0};  // sessions in their race or relay (read by other threads)
  RelayHub* relays = nullptr;          // where sessions go after their race
};

// The caller has counted the session in services.active; it is uncounted when this returns.
asio::awaitable<void> run_session(asio::ip::tcp::socket client, FrontendPtr frontend, WorkerServices& services);

}  // namespace kha::proxy
