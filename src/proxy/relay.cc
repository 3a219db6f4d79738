#include "proxy/relay.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

#include "common/log.h"
#include "proxy/pipe_pool.h"

namespace kha::proxy {

LegMode next_leg_mode(LegMode mode, std::size_t moved, bool splice_allowed) {
  if (!splice_allowed) return LegMode::Copy;
  if (mode == LegMode::Copy) return moved >= kCopyChunk ? LegMode::Splice : LegMode::Copy;
  return moved < kBackToCopyBelow ? LegMode::Copy : LegMode::Splice;
}

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kSpliceChunk = 1 << 20;  // bounded by the pipe's capacity anyway
constexpr int kBatch = 256;                     // epoll events per epoll_wait
constexpr int kRoundsPerWake = 4;               // then yield to the rest of the worker's loop

// The copy path reads into this per-thread buffer and sends at once; only bytes the
// destination could not take yet move into a buffer the leg owns until they are sent.
thread_local std::unique_ptr<char[]> t_scratch;
thread_local std::vector<std::unique_ptr<char[]>> t_spare_buffers;

char* scratch() {
  if (!t_scratch) t_scratch = std::make_unique<char[]>(kCopyChunk);
  return t_scratch.get();
}

std::unique_ptr<char[]> take_buffer() {
  if (t_spare_buffers.empty()) return std::make_unique<char[]>(kCopyChunk);
  auto b = std::move(t_spare_buffers.back());
  t_spare_buffers.pop_back();
  return b;
}

void give_buffer(std::unique_ptr<char[]> b) {
  if (b && t_spare_buffers.size() < 64) t_spare_buffers.push_back(std::move(b));
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// What a leg does next after moving what it could.
enum class Step { WaitRead, WaitWrite, Eof, Error };

}  // namespace

// One session's relay. Sides: 0 = client, 1 = upstream. Leg i reads side i and writes
// side 1 - i (leg 0: client -> backend, leg 1: backend -> client).
struct Relay {
  struct Leg {
    int from = -1;
    int to = -1;
    std::atomic<std::uint64_t>* bytes = nullptr;
    LegMode mode = LegMode::Copy;
    bool done = false;
    bool blocked = false;          // waiting for `to` to take more
    bool peer_closed = false;      // epoll said the source shut down (EPOLLRDHUP): read to EOF
    Pipe pipe;                     // splice: held only while it has bytes to write
    std::size_t queued = 0;        // bytes in `pipe` not yet written
    std::unique_ptr<char[]> held;  // copy: bytes the destination could not take yet
    std::size_t held_from = 0, held_to = 0;
    std::size_t round = 0;         // bytes moved since the source last ran dry
  };

  Relay(RelayHub& hub, int client, int upstream, pool::BackendPtr b, std::chrono::milliseconds idle)
      : hub(hub), backend(std::move(b)) {
    fd[0] = client;
    fd[1] = upstream;
    auto& stats = backend->stats();
    legs[0].from = legs[1].to = client;
    legs[0].to = legs[1].from = upstream;
    legs[0].bytes = &stats.bytes_to_backend;
    legs[1].bytes = &stats.bytes_to_client;
    control.backend = backend.get();
    control.idle = idle;
    control.last_activity = Clock::now();
    control.owner = this;
    control.on_close = [](void* self) {
      auto* r = static_cast<Relay*>(self);
      r->hub.kill(*r);
    };
    handle = hub.services_.registry.add(&control);
    hub.services_.active.fetch_add(1, std::memory_order_relaxed);
  }

  ~Relay() {
    for (auto& leg : legs) release(leg);
    for (int f : fd)
      if (f >= 0) ::close(f);  // also leaves the hub's epoll set
    hub.services_.registry.remove(handle);
    backend->stats().active_sessions.fetch_sub(1, std::memory_order_relaxed);
    hub.services_.active.fetch_sub(1, std::memory_order_relaxed);
  }

  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void note(Leg& leg, std::size_t n) {
    leg.bytes->fetch_add(n, std::memory_order_relaxed);
    leg.round += n;
    control.last_activity = Clock::now();
  }

  Step move(Leg& leg) {
    if (leg.queued > 0) {  // a splice round the destination had blocked
      if (const Step s = flush_pipe(leg); s != Step::WaitRead) return s;
    } else if (leg.held) {  // a copy the destination had blocked
      if (const Step s = flush_held(leg); s != Step::WaitRead) return s;
    }
    return leg.mode == LegMode::Splice ? splice_round(leg) : copy_round(leg);
  }

  Step copy_round(Leg& leg) {
    for (;;) {
      char* buf = scratch();
      const ssize_t n = ::recv(leg.from, buf, kCopyChunk, 0);
      if (n == 0) return Step::Eof;
      if (n < 0) {
        if (errno == EINTR) continue;
        return would_block(errno) ? Step::WaitRead : Step::Error;
      }
      const std::size_t got = static_cast<std::size_t>(n);
      std::size_t sent = 0;
      while (sent < got) {
        const ssize_t w = ::send(leg.to, buf + sent, got - sent, MSG_NOSIGNAL);
        if (w > 0) {
          sent += static_cast<std::size_t>(w);
          continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && would_block(errno)) break;
        return Step::Error;
      }
      note(leg, sent);
      if (sent < got) {  // keep the rest until the destination drains
        leg.held = take_buffer();
        std::copy(buf + sent, buf + got, leg.held.get());
        leg.held_from = 0;
        leg.held_to = got - sent;
        return Step::WaitWrite;
      }
      // A short read emptied the socket: with edge-triggered epoll, new bytes raise a
      // new edge, so there is no need for a recv that would only say EAGAIN. Not so an
      // EOF that came with the bytes: its edge is spent, so read on to see it.
      if (got < kCopyChunk && !leg.peer_closed) return Step::WaitRead;
      if (hub.services_.splice) {  // a full chunk: bulk, more is waiting; go on zero copy
        leg.mode = LegMode::Splice;
        return splice_round(leg);
      }
    }
  }

  Step flush_held(Leg& leg) {
    while (leg.held_from < leg.held_to) {
      const ssize_t w = ::send(leg.to, leg.held.get() + leg.held_from, leg.held_to - leg.held_from, MSG_NOSIGNAL);
      if (w > 0) {
        leg.held_from += static_cast<std::size_t>(w);
        note(leg, static_cast<std::size_t>(w));
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && would_block(errno)) return Step::WaitWrite;
      return Step::Error;
    }
    give_buffer(std::move(leg.held));
    leg.held_from = leg.held_to = 0;
    return Step::WaitRead;
  }

  Step splice_round(Leg& leg) {
    for (;;) {
      if (!leg.pipe.valid()) {
        leg.pipe = hub.services_.pipes.acquire();
        if (!leg.pipe.valid()) {  // out of descriptors: copy this round instead
          leg.mode = LegMode::Copy;
          return copy_round(leg);
        }
      }
      // Invariant: the pipe is empty here, so EAGAIN means the socket has nothing more.
      const ssize_t in = ::splice(leg.from, nullptr, leg.pipe.write_fd, nullptr, kSpliceChunk,
                                  SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (in == 0) {
        release(leg);
        return Step::Eof;
      }
      if (in < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        release(leg);
        if (would_block(err)) return Step::WaitRead;  // the pipe went back empty: idle holds none
        if (err == EINVAL || err == ENOSYS) {          // splice refused for these sockets
          leg.mode = LegMode::Copy;
          return copy_round(leg);
        }
        return Step::Error;
      }
      leg.queued = static_cast<std::size_t>(in);
      if (const Step s = flush_pipe(leg); s != Step::WaitRead) return s;
    }
  }

  Step flush_pipe(Leg& leg) {
    while (leg.queued > 0) {
      const ssize_t out =
          ::splice(leg.pipe.read_fd, nullptr, leg.to, nullptr, leg.queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (out > 0) {
        leg.queued -= static_cast<std::size_t>(out);
        note(leg, static_cast<std::size_t>(out));
        backend->stats().bytes_spliced.fetch_add(static_cast<std::size_t>(out), std::memory_order_relaxed);
        continue;
      }
      if (out < 0 && errno == EINTR) continue;
      if (out < 0 && would_block(errno)) return Step::WaitWrite;
      return Step::Error;
    }
    return Step::WaitRead;
  }

  // Gives back what the leg holds; a pipe that may still hold bytes is closed, not pooled.
  void release(Leg& leg) {
    if (leg.pipe.valid()) {
      if (leg.queued == 0) hub.services_.pipes.release(leg.pipe);
      else hub.services_.pipes.discard(leg.pipe);
      leg.pipe = {};
      leg.queued = 0;
    }
    give_buffer(std::move(leg.held));
    leg.held_from = leg.held_to = 0;
  }

  RelayHub& hub;
  pool::BackendPtr backend;
  int fd[2] = {-1, -1};
  Leg legs[2];
  SessionControl control;
  SessionRegistry::Handle handle;
  std::list<Relay>::iterator self;
  bool dead = false;
};

RelayHub::RelayHub(asio::io_context& context, WorkerServices& services)
    : context_(context), services_(services), epoll_wait_(context) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  const int watched = ::fcntl(epoll_fd_, F_DUPFD_CLOEXEC, 0);  // Asio owns (and closes) this one
  if (watched < 0) throw std::system_error(errno, std::system_category(), "fcntl");
  epoll_wait_.assign(watched);
  wait();
}

RelayHub::~RelayHub() {
  relays_.clear();
  asio::error_code ec;
  epoll_wait_.close(ec);
  ::close(epoll_fd_);
}

void RelayHub::add(tcp::socket client, tcp::socket upstream, pool::BackendPtr backend, bool client_eof,
                   std::chrono::milliseconds idle) {
  asio::error_code ec;
  const int c = client.release(ec);
  const int u = upstream.release(ec);
  Relay& r = relays_.emplace_back(*this, c, u, std::move(backend), idle);
  r.self = std::prev(relays_.end());
  if (client_eof) r.legs[0].done = true;  // the race forwarded the client's EOF already
  for (int side = 0; side < 2; ++side) {
    if (r.fd[side] < 0) return kill(r);
    // Edge-triggered: registering reports what is ready now (bytes the race left
    // behind, writability), then only changes.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = reinterpret_cast<std::uintptr_t>(&r) | static_cast<std::uint64_t>(side);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, r.fd[side], &ev) != 0) {
      log::warn("relay_register_failed", {{"error", std::error_code(errno, std::system_category()).message()}});
      return kill(r);
    }
  }
}

void RelayHub::wait() {
  epoll_wait_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
    if (ec) return;  // closed: the hub is going away
    drain();
    wait();
  });
}

void RelayHub::drain() {
  epoll_event events[kBatch];
  for (int round = 0; round < kRoundsPerWake; ++round) {
    const int n = ::epoll_wait(epoll_fd_, events, kBatch, 0);
    for (int i = 0; i < n; ++i) dispatch(events[i]);
    if (n < kBatch) break;
  }
  flush();  // more events left: the re-armed wait fires at once
}

void RelayHub::dispatch(const epoll_event& event) {
  auto* r = reinterpret_cast<Relay*>(static_cast<std::uintptr_t>(event.data.u64 & ~std::uint64_t{1}));
  const int side = static_cast<int>(event.data.u64 & 1);
  if (r->dead) return;  // ended earlier in this batch
  if (event.events & EPOLLERR) return kill(*r);  // a reset: the session is over both ways
  Relay::Leg& writer = r->legs[1 - side];
  if ((event.events & (EPOLLOUT | EPOLLHUP)) && writer.blocked && !writer.done) run_leg(*r, 1 - side);
  if (r->dead) return;
  Relay::Leg& reader = r->legs[side];
  if (event.events & (EPOLLRDHUP | EPOLLHUP)) reader.peer_closed = true;  // even while blocked: the edge is spent
  if ((event.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !reader.blocked && !reader.done) run_leg(*r, side);
}

void RelayHub::run_leg(Relay& r, int i) {
  Relay::Leg& leg = r.legs[i];
  switch (r.move(leg)) {
    case Step::WaitRead:
      leg.blocked = false;
      leg.mode = next_leg_mode(leg.mode, leg.round, services_.splice);
      leg.round = 0;
      return;
    case Step::WaitWrite: leg.blocked = true; return;
    case Step::Eof:
      ::shutdown(leg.to, SHUT_WR);  // ENOTCONN when the peer is gone: nothing to forward
      leg.done = true;
      r.release(leg);
      if (r.legs[1 - i].done) kill(r);
      return;
    case Step::Error: kill(r); return;
  }
}

void RelayHub::kill(Relay& r) {
  if (r.dead) return;
  r.dead = true;
  r.control.closing = true;
  dead_.push_back(r.self);
  // Freed after the batch (events for it may follow in the same batch), or soon after
  // when the close came from elsewhere (a backend went down, shutdown, idle sweep).
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(context_, [this] { flush(); });
  }
}

void RelayHub::flush() {
  flush_posted_ = false;
  auto dead = std::move(dead_);
  dead_.clear();
  for (auto it : dead) relays_.erase(it);
}

}  // namespace kha::proxy
