// Pump: moves bytes one way, from one socket to the other, until the source ends.
// splice(2) through a pooled pipe by default (zero copy: bytes never enter user
// space), a copy through a pooled buffer as the fallback. Neither holds a pipe or a
// buffer while the source is idle. On EOF from the source the pump forwards the
// half-close with shutdown(SHUT_WR) and returns; the other direction goes on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <asio.hpp>

#include "proxy/pipe_pool.h"

namespace kha::proxy {

enum class PumpEnd {
  Eof,         // source closed its write side; forwarded to the destination
  ReadError,   // source reset or failed
  WriteError,  // destination reset or failed
  Closed,      // the session asked to close (closing flag set)
};

const char* to_string(PumpEnd end);

struct PumpContext {
  PipePool* pipes = nullptr;          // per worker
  bool use_splice = true;
  std::atomic<std::uint64_t>* bytes = nullptr;  // counter for this direction (backend stats)
  std::chrono::steady_clock::time_point* last_activity = nullptr;  // for idle timeouts
  const bool* closing = nullptr;      // set by the session when it wants to stop
};

// Runs until the source ends, an error, or *ctx.closing. Both sockets must be in
// non-blocking mode and stay open until the pump returns.
asio::awaitable<PumpEnd> pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, PumpContext ctx);

}  // namespace kha::proxy
