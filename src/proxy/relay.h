// Relay: the relay phase of sessions (after the race picked a backend), driven by a
// per-worker epoll set of its own (RelayHub), one direction ("leg") per socket pair.
//
// Why not Asio here, as in the race: two measured costs.
//  - Memory. A session spends nearly all of its life idle (a kubelet watch waits for
//    hours), and what an idle session holds is what a node pays per client. A
//    coroutine relay held frames, spawned threads and a timer: about 23 KiB per idle
//    session with its buffers (bench/RESULTS.md). A relay here is one small object and
//    two epoll registrations: no buffer, no pipe, no pending operation.
//  - System calls. Asio re-arms a descriptor with epoll_ctl(EPOLL_CTL_MOD) for every
//    readiness wait, one more system call per message and direction (strace: as many
//    epoll_ctl as recv). Here each socket is registered once, edge-triggered, and a
//    message costs one recv and one send. The hub's epoll descriptor itself is waited
//    on through Asio, so the worker still runs one event loop.
//
// Each leg forwards half-close on its own: EOF from one side becomes shutdown(SHUT_WR)
// on the other, and the other leg goes on. A read or write error (a reset) ends both.
// The idle timeout is a sweep per worker over the registry (Worker::sweep_idle).
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <list>
#include <system_error>
#include <vector>

#include <asio.hpp>

#include "pool/backend.h"
#include "proxy/session.h"

namespace kha::proxy {

// How a leg moves bytes. Small request/response traffic (most apiserver calls) is
// copied through a per-thread buffer: one recv and one send per message. Bulk
// transfers (a large list, a snapshot) switch to splice(2), zero copy.
enum class LegMode { Copy, Splice };

inline constexpr std::size_t kCopyChunk = 64 * 1024;        // one recv into the per-thread buffer
inline constexpr std::size_t kBackToCopyBelow = 16 * 1024;  // a splice round smaller than this

// Pure: the mode of a leg's next round, given this round's mode and the bytes it moved
// before the source ran dry. `splice_allowed` is the config's `splice`.
// Copy -> Splice when one recv filled the whole chunk (more was waiting: bulk);
// Splice -> Copy when a whole round moved less than kBackToCopyBelow.
LegMode next_leg_mode(LegMode mode, std::size_t moved, bool splice_allowed);

struct Relay;

// The relays of one worker. Worker thread only.
class RelayHub {
 public:
  RelayHub(asio::io_context& context, WorkerServices& services);
  ~RelayHub();  // closes every relay still open
  RelayHub(const RelayHub&) = delete;
  RelayHub& operator=(const RelayHub&) = delete;

  // Takes both sockets over (they leave Asio's reactor) and relays until both legs
  // end, an error, or SessionControl::close(). When a relay ends it leaves the
  // registry and decrements the backend's and the worker's session counts.
  // `client_eof`: the client half-closed during the race (forwarded already).
  void add(asio::ip::tcp::socket client, asio::ip::tcp::socket upstream, pool::BackendPtr backend, bool client_eof,
           std::chrono::milliseconds idle);

  std::size_t size() const { return relays_.size(); }

 private:
  friend struct Relay;
  void wait();
  void drain();
  void dispatch(const epoll_event& event);
  void run_leg(Relay& relay, int leg);
  void kill(Relay& relay);  // ends it now; it is freed after the current batch
  void flush();

  asio::io_context& context_;
  WorkerServices& services_;
  int epoll_fd_ = -1;
  asio::posix::stream_descriptor epoll_wait_;
  std::list<Relay> relays_;
  std::vector<std::list<Relay>::iterator> dead_;
  bool flush_posted_ = false;
};

}  // namespace kha::proxy
