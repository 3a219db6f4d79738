#include "proxy/relay.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

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
enum class Step { WaitRead, WaitWrite, Eof, ReadError, WriteError };

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  Relay(tcp::socket client, tcp::socket upstream, pool::BackendPtr backend, std::chrono::milliseconds idle,
        WorkerServices& services)
      : client_(std::move(client)), upstream_(std::move(upstream)), backend_(std::move(backend)), services_(services) {
    auto& stats = backend_->stats();
    legs_[0].from = legs_[1].to = &client_;
    legs_[0].to = legs_[1].from = &upstream_;
    legs_[0].bytes = &stats.bytes_to_backend;
    legs_[1].bytes = &stats.bytes_to_client;
    spliced_ = &stats.bytes_spliced;
    control_.backend = backend_.get();
    control_.client = &client_;
    control_.upstream = &upstream_;
    control_.idle = idle;
    control_.last_activity = Clock::now();
    handle_ = services_.registry.add(&control_);
    services_.active.fetch_add(1, std::memory_order_relaxed);
  }

  ~Relay() {
    for (auto& leg : legs_) release(leg);
    services_.registry.remove(handle_);
    backend_->stats().active_sessions.fetch_sub(1, std::memory_order_relaxed);
    services_.active.fetch_sub(1, std::memory_order_relaxed);
  }

  void start(bool client_eof) {
    if (client_eof) {
      legs_[0].done = true;  // the race forwarded the client's EOF already
    } else {
      wait(0, tcp::socket::wait_read);
    }
    wait(1, tcp::socket::wait_read);
  }

 private:
  struct Leg {
    tcp::socket* from = nullptr;
    tcp::socket* to = nullptr;
    std::atomic<std::uint64_t>* bytes = nullptr;
    LegMode mode = LegMode::Copy;
    bool done = false;
    Pipe pipe;                     // splice: held only while it has bytes to write
    std::size_t queued = 0;        // bytes in `pipe` not yet written
    std::unique_ptr<char[]> held;  // copy: bytes the destination could not take yet
    std::size_t held_from = 0, held_to = 0;
    std::size_t round = 0;         // bytes moved since the last wait for readability
  };

  void wait(int i, tcp::socket::wait_type what) {
    Leg& leg = legs_[i];
    tcp::socket& s = what == tcp::socket::wait_read ? *leg.from : *leg.to;
    s.async_wait(what, [self = shared_from_this(), i](const asio::error_code& ec) { self->on_ready(i, ec); });
  }

  void on_ready(int i, const asio::error_code& ec) {
    Leg& leg = legs_[i];
    if (control_.closing) return end(i);
    if (ec) return fail(i);
    switch (move(leg)) {
      case Step::WaitRead:
        leg.mode = next_leg_mode(leg.mode, leg.round, services_.splice);
        leg.round = 0;
        return wait(i, tcp::socket::wait_read);
      case Step::WaitWrite: return wait(i, tcp::socket::wait_write);
      case Step::Eof:
        ::shutdown(leg.to->native_handle(), SHUT_WR);  // ENOTCONN when the peer is gone: nothing to forward
        return end(i);
      case Step::ReadError:
      case Step::WriteError: return fail(i);
    }
  }

  void note(Leg& leg, std::size_t n) {
    leg.bytes->fetch_add(n, std::memory_order_relaxed);
    leg.round += n;
    control_.last_activity = Clock::now();
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
    const int src = leg.from->native_handle();
    for (;;) {
      char* buf = scratch();
      const ssize_t n = ::recv(src, buf, kCopyChunk, 0);
      if (n == 0) return Step::Eof;
      if (n < 0) {
        if (errno == EINTR) continue;
        return would_block(errno) ? Step::WaitRead : Step::ReadError;
      }
      const std::size_t got = static_cast<std::size_t>(n);
      std::size_t sent = 0;
      while (sent < got) {
        const ssize_t w = ::send(leg.to->native_handle(), buf + sent, got - sent, MSG_NOSIGNAL);
        if (w > 0) {
          sent += static_cast<std::size_t>(w);
          continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && would_block(errno)) break;
        return Step::WriteError;
      }
      note(leg, sent);
      if (sent < got) {  // keep the rest until the destination drains
        leg.held = take_buffer();
        std::copy(buf + sent, buf + got, leg.held.get());
        leg.held_from = 0;
        leg.held_to = got - sent;
        return Step::WaitWrite;
      }
      // A short read emptied the socket: wait for more without another recv that
      // would only say EAGAIN. Safe with the reactor's edge-triggered epoll because
      // this worker runs its reactor only between handlers: new bytes raise a new
      // edge that the wait registered below will see.
      if (got < kCopyChunk) return Step::WaitRead;
      if (services_.splice) {  // a full chunk: bulk, more is waiting; go on zero copy
        leg.mode = LegMode::Splice;
        return splice_round(leg);
      }
    }
  }

  Step flush_held(Leg& leg) {
    while (leg.held_from < leg.held_to) {
      const ssize_t w = ::send(leg.to->native_handle(), leg.held.get() + leg.held_from, leg.held_to - leg.held_from,
                               MSG_NOSIGNAL);
      if (w > 0) {
        leg.held_from += static_cast<std::size_t>(w);
        note(leg, static_cast<std::size_t>(w));
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && would_block(errno)) return Step::WaitWrite;
      return Step::WriteError;
    }
    give_buffer(std::move(leg.held));
    leg.held_from = leg.held_to = 0;
    return Step::WaitRead;
  }

  Step splice_round(Leg& leg) {
    const int src = leg.from->native_handle();
    for (;;) {
      if (!leg.pipe.valid()) {
        leg.pipe = services_.pipes.acquire();
        if (!leg.pipe.valid()) {  // out of descriptors: copy this round instead
          leg.mode = LegMode::Copy;
          return copy_round(leg);
        }
      }
      // Invariant: the pipe is empty here, so EAGAIN means the socket has nothing more.
      const ssize_t in = ::splice(src, nullptr, leg.pipe.write_fd, nullptr, kSpliceChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
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
        return Step::ReadError;
      }
      leg.queued = static_cast<std::size_t>(in);
      if (const Step s = flush_pipe(leg); s != Step::WaitRead) return s;
    }
  }

  Step flush_pipe(Leg& leg) {
    while (leg.queued > 0) {
      const ssize_t out = ::splice(leg.pipe.read_fd, nullptr, leg.to->native_handle(), nullptr, leg.queued,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (out > 0) {
        leg.queued -= static_cast<std::size_t>(out);
        note(leg, static_cast<std::size_t>(out));
        spliced_->fetch_add(static_cast<std::size_t>(out), std::memory_order_relaxed);
        continue;
      }
      if (out < 0 && errno == EINTR) continue;
      if (out < 0 && would_block(errno)) return Step::WaitWrite;
      return Step::WriteError;
    }
    return Step::WaitRead;
  }

  // Gives back what the leg holds; a pipe that may still hold bytes is closed, not pooled.
  void release(Leg& leg) {
    if (leg.pipe.valid()) {
      if (leg.queued == 0) services_.pipes.release(leg.pipe);
      else services_.pipes.discard(leg.pipe);
      leg.pipe = {};
      leg.queued = 0;
    }
    give_buffer(std::move(leg.held));
    leg.held_from = leg.held_to = 0;
  }

  void end(int i) {
    legs_[i].done = true;
    release(legs_[i]);
  }

  // A reset or failure on either side ends the whole session.
  void fail(int i) {
    end(i);
    control_.close();
  }

  tcp::socket client_;
  tcp::socket upstream_;
  pool::BackendPtr backend_;
  WorkerServices& services_;
  SessionControl control_;
  SessionRegistry::Handle handle_;
  Leg legs_[2];
  std::atomic<std::uint64_t>* spliced_ = nullptr;
};

}  // namespace

void start_relay(tcp::socket client, tcp::socket upstream, pool::BackendPtr backend, bool client_eof,
                 std::chrono::milliseconds idle, WorkerServices& services) {
  std::make_shared<Relay>(std::move(client), std::move(upstream), std::move(backend), idle, services)->start(client_eof);
}

}  // namespace kha::proxy
