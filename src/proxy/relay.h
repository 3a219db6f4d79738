// Relay: the relay phase of a session (after the race picked a backend), as one heap
// object driven by completion callbacks, one direction ("leg") per socket pair.
//
// Why callbacks and not coroutines as in the race: a session spends nearly all of its
// life idle (a kubelet watch waits for hours), and what an idle session holds is what
// a node pays per client. A coroutine relay held a frame per pump, a spawned thread
// each and a timer: about 7 KiB per idle session (bench/RESULTS.md). This object and
// its two pending waits hold well under 2 KiB, no buffer and no pipe. The idle timeout
// is a sweep per worker over the registry (Worker::sweep_idle), not a timer per session.
//
// Each leg forwards half-close on its own: EOF from one side becomes shutdown(SHUT_WR)
// on the other, and the other leg goes on. A read or write error (a reset) ends both.
#pragma once

#include <chrono>
#include <cstddef>

#include <asio.hpp>

#include "pool/backend.h"
#include "proxy/session.h"

namespace kha::proxy {

// How a leg moves bytes. Small request/response traffic (most apiserver calls) is
// copied through a per-thread buffer: one recv and one send per message. Bulk
// transfers (a large list, a snapshot) switch to splice(2), zero copy.
enum class LegMode { Copy, Splice };

inline constexpr std::size_t kCopyChunk = 64 * 1024;      // one recv into the per-thread buffer
inline constexpr std::size_t kBackToCopyBelow = 16 * 1024;  // a splice round smaller than this

// Pure: the mode of a leg's next round, given this round's mode and the bytes it moved
// before the source would block. `splice_allowed` is the config's `splice`.
// Copy -> Splice when one recv filled the whole chunk (more was waiting: bulk);
// Splice -> Copy when a whole round moved less than kBackToCopyBelow.
LegMode next_leg_mode(LegMode mode, std::size_t moved, bool splice_allowed);

// Starts relaying between `client` and `upstream`; the relay owns both sockets and
// ends by itself (both legs ended, an error, or SessionControl::close()). When it ends
// it leaves the registry and decrements the backend's and the worker's session counts.
// `client_eof`: the client half-closed during the race (forwarded already).
void start_relay(asio::ip::tcp::socket client, asio::ip::tcp::socket upstream, pool::BackendPtr backend,
                 bool client_eof, std::chrono::milliseconds idle, WorkerServices& services);

}  // namespace kha::proxy
