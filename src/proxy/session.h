// Session: one client connection and, once the race picked it, one backend
// connection (Envoy's downstream and upstream legs). The coroutine frame owns both
// sockets; the worker's registry holds only a handle to its SessionControl.
//
// Phases: race (upstream_race.h) -> relay (two pumps, one per direction, each
// forwarding half-close on its own; a watchdog for the idle timeout) -> teardown,
// decided in one place: run_session returns when both pumps and the watchdog ended.
#pragma once

#include <asio.hpp>

#include "proxy/frontend_runtime.h"
#include "proxy/pipe_pool.h"
#include "proxy/session_registry.h"

namespace kha::proxy {

// Per-worker resources that sessions borrow.
struct WorkerServices {
  PipePool pipes;
  SessionRegistry registry;
  bool splice = true;
};

asio::awaitable<void> run_session(asio::ip::tcp::socket client, FrontendPtr frontend, WorkerServices& services);

}  // namespace kha::proxy
