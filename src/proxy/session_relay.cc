// The relay phase of a session: see session.h. Worker thread only.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "proxy/hub.h"
#include "proxy/session.h"

namespace kha::proxy {

LegMode next_leg_mode(LegMode mode, std::size_t moved, bool splice_allowed) {
  if (!splice_allowed) return LegMode::Copy;
  if (mode == LegMode::Copy) return moved >= kCopyChunk ? LegMode::Splice : LegMode::Copy;
  return moved < kBackToCopyBelow ? LegMode::Copy : LegMode::Splice;
}

namespace {

constexpr std::size_t kSpliceChunk = 1 << 20;  // bounded by the pipe's capacity anyway

// The copy path reads into this per-thread buffer and sends at once; only bytes the
// destination could not take yet move into a buffer the leg owns until they are sent.
thread_local std::unique_ptr<char[]> t_scratch;
thread_local std::vector<std::unique_ptr<char[]>> t_spare_buffers;

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

}  // namespace

char* relay_scratch() {
  if (!t_scratch) t_scratch = std::make_unique<char[]>(kCopyChunk);
  return t_scratch.get();
}

Session::~Session() {
  hub_.clear_deadline(*this);
  race_.reset();  // closes the race's attempts
  for (auto& leg : legs_) release(leg);
  for (int f : fd_)
    if (f >= 0) ::close(f);  // also leaves the hub's epoll set
  if (handle_) {
    services_.registry.remove(*handle_);
    backend_->stats().active_sessions.fetch_sub(1, std::memory_order_relaxed);
    backend_->stats().session_start_sum_ms.fetch_sub(started_ms(control_.started), std::memory_order_relaxed);
    if (control_.aged_bucket >= 0)
      backend_->stats().aged_sessions[static_cast<std::size_t>(control_.aged_bucket)].fetch_sub(1, std::memory_order_relaxed);
  }
  services_.active.fetch_sub(1, std::memory_order_relaxed);
}

void Session::relay_event(std::uint32_t events, unsigned side) {
  if (events & EPOLLERR) {
    // A reset. What the socket received before it is still queued and readable (the
    // kernel reports the error only once the queue is empty): deliver it to the other
    // side first, as a direct connection would (issue #14: bytes cut at 32 or 64 KiB);
    // the read that meets the error then ends the session. Closing the other side
    // after its last bytes were queued sends them before the FIN.
    Leg& reader = legs_[side];
    reader.peer_closed = reader.reset = true;
    if (reader.done) return hub_.end_session(*this);
    if (!reader.blocked) run_leg(static_cast<int>(side));
    return;  // blocked: the other side's EPOLLOUT runs the leg on
  }
  Leg& writer = legs_[1 - side];
  if ((events & (EPOLLOUT | EPOLLHUP)) && writer.blocked && !writer.done) run_leg(1 - static_cast<int>(side));
  if (dead_) return;
  Leg& reader = legs_[side];
  if (events & (EPOLLRDHUP | EPOLLHUP)) reader.peer_closed = true;  // even while blocked: the edge is spent
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !reader.blocked && !reader.done) run_leg(static_cast<int>(side));
}

void Session::run_leg(int i) { finish_leg(i, move(legs_[i])); }

void Session::finish_leg(int i, Step step) {
  Leg& leg = legs_[i];
  switch (step) {
    case Step::WaitRead:
      leg.blocked = false;
      leg.mode = next_leg_mode(leg.mode, leg.round, services_.splice);
      leg.round = 0;
      return;
    case Step::WaitWrite: leg.blocked = true; return;
    case Step::Eof:
      leg.done = true;
      release(leg);
      // Both ways done: close() sends the last FIN itself, one system call fewer. A
      // reset source is gone both ways: nothing will come back for the other leg.
      if (legs_[1 - i].done || leg.reset) return hub_.end_session(*this);
      ::shutdown(leg.to, SHUT_WR);  // ENOTCONN when the peer is gone: nothing to forward
      return;
    case Step::Error: hub_.end_session(*this); return;
  }
}

void Session::note(Leg& leg, std::size_t n) {
  leg.bytes->fetch_add(n, std::memory_order_relaxed);
  leg.round += n;
  control_.last_activity = HubClock::now();
}

Session::Step Session::move(Leg& leg) {
  if (leg.queued > 0) {  // a splice round the destination had blocked
    if (const Step s = flush_pipe(leg); s != Step::WaitRead) return s;
  } else if (leg.held) {  // a copy the destination had blocked
    if (const Step s = flush_held(leg); s != Step::WaitRead) return s;
  }
  return leg.mode == LegMode::Splice ? splice_round(leg) : copy_round(leg);
}

Session::Step Session::copy_round(Leg& leg) {
  for (;;) {
    char* buf = relay_scratch();
    const ssize_t n = ::recv(leg.from, buf, kCopyChunk, 0);
    if (n == 0) return Step::Eof;
    if (n < 0) {
      if (errno == EINTR) continue;
      return would_block(errno) ? Step::WaitRead : Step::Error;
    }
    const std::size_t got = static_cast<std::size_t>(n);
    // A short read emptied the socket: with edge-triggered epoll, new bytes raise a
    // new edge, so there is no need for a recv that would only say EAGAIN. If the
    // source had shut down (EPOLLRDHUP), these are its last bytes: no recv for the EOF.
    const bool last = got < kCopyChunk && leg.peer_closed;
    if (const Step s = forward(leg, buf, got, last); s != Step::WaitRead) return s;
    if (got < kCopyChunk) return Step::WaitRead;
    if (services_.splice && got == kCopyChunk) {  // a full chunk: bulk, more is waiting; go on zero copy
      leg.mode = LegMode::Splice;
      return splice_round(leg);
    }
  }
}

Session::Step Session::forward(Leg& leg, const char* buf, std::size_t got, bool last) {
  // The last bytes before an EOF go with MSG_MORE: the shutdown (or close) that
  // follows at once then puts the FIN on the same segment. One packet fewer, and the
  // peer wakes once for its answer and its end, not twice.
  const int flags = MSG_NOSIGNAL | (last ? MSG_MORE : 0);
  std::size_t sent = 0;
  while (sent < got) {
    const ssize_t w = ::send(leg.to, buf + sent, got - sent, flags);
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
    hold(leg, buf + sent, got - sent);
    return Step::WaitWrite;  // then a recv sees the EOF
  }
  return last ? Step::Eof : Step::WaitRead;
}

void Session::hold(Leg& leg, const char* buf, std::size_t n) {
  leg.held = take_buffer();  // n <= kCopyChunk: one recv, or first_bytes_max (validated)
  std::copy(buf, buf + n, leg.held.get());
  leg.held_from = 0;
  leg.held_to = n;
}

Session::Step Session::flush_held(Leg& leg) {
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

Session::Step Session::splice_round(Leg& leg) {
  for (;;) {
    if (!leg.pipe.valid()) {
      leg.pipe = services_.pipes.acquire();
      if (!leg.pipe.valid()) {  // out of descriptors: copy this round instead
        leg.mode = LegMode::Copy;
        return copy_round(leg);
      }
    }
    // Invariant: the pipe is empty here, so EAGAIN means the socket has nothing more.
    const ssize_t in =
        ::splice(leg.from, nullptr, leg.pipe.write_fd, nullptr, kSpliceChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
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

Session::Step Session::flush_pipe(Leg& leg) {
  while (leg.queued > 0) {
    const ssize_t out =
        ::splice(leg.pipe.read_fd, nullptr, leg.to, nullptr, leg.queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (out > 0) {
      leg.queued -= static_cast<std::size_t>(out);
      note(leg, static_cast<std::size_t>(out));
      backend_->stats().bytes_spliced.fetch_add(static_cast<std::size_t>(out), std::memory_order_relaxed);
      continue;
    }
    if (out < 0 && errno == EINTR) continue;
    if (out < 0 && would_block(errno)) return Step::WaitWrite;
    return Step::Error;
  }
  return Step::WaitRead;
}

// Gives back what the leg holds; a pipe that may still hold bytes is closed, not pooled.
void Session::release(Leg& leg) {
  if (leg.pipe.valid()) {
    if (leg.queued == 0) services_.pipes.release(leg.pipe);
    else services_.pipes.discard(leg.pipe);
    leg.pipe = {};
    leg.queued = 0;
  }
  give_buffer(std::move(leg.held));
  leg.held_from = leg.held_to = 0;
}

}  // namespace kha::proxy
