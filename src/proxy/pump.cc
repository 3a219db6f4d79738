#include "proxy/pump.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace kha::proxy {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kSpliceChunk = 1 << 20;  // bounded by the pipe's capacity anyway
constexpr std::size_t kCopyBuffer = 64 * 1024;

// Copy buffers, per worker thread, lent only while bytes are in flight.
thread_local std::vector<std::unique_ptr<char[]>> t_spare_buffers;

std::unique_ptr<char[]> take_buffer() {
  if (t_spare_buffers.empty()) return std::make_unique<char[]>(kCopyBuffer);
  auto b = std::move(t_spare_buffers.back());
  t_spare_buffers.pop_back();
  return b;
}

void give_buffer(std::unique_ptr<char[]> b) {
  if (t_spare_buffers.size() < 64) t_spare_buffers.push_back(std::move(b));
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

void note(const PumpContext& ctx, std::size_t n) {
  if (ctx.bytes) ctx.bytes->fetch_add(n, std::memory_order_relaxed);
  if (ctx.last_activity) *ctx.last_activity = Clock::now();
}

PumpEnd forward_eof(tcp::socket& to) {
  ::shutdown(to.native_handle(), SHUT_WR);  // ENOTCONN when the peer is gone: nothing to forward
  return PumpEnd::Eof;
}

// Waits until `s` is ready; false when the session is closing or the wait failed.
asio::awaitable<bool> ready(tcp::socket& s, tcp::socket::wait_type what, const PumpContext& ctx) {
  asio::error_code ec;
  co_await s.async_wait(what, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !*ctx.closing;
}

asio::awaitable<PumpEnd> copy_pump(tcp::socket& from, tcp::socket& to, const PumpContext& ctx) {
  for (;;) {
    if (!co_await ready(from, tcp::socket::wait_read, ctx)) co_return *ctx.closing ? PumpEnd::Closed : PumpEnd::ReadError;
    auto buffer = take_buffer();
    for (;;) {
      const ssize_t n = ::recv(from.native_handle(), buffer.get(), kCopyBuffer, 0);
      if (n == 0) {
        give_buffer(std::move(buffer));
        co_return forward_eof(to);
      }
      if (n < 0) {
        if (would_block(errno)) break;
        if (errno == EINTR) continue;
        co_return PumpEnd::ReadError;
      }
      asio::error_code ec;
      co_await asio::async_write(to, asio::buffer(buffer.get(), static_cast<std::size_t>(n)),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (*ctx.closing) co_return PumpEnd::Closed;
      if (ec) co_return PumpEnd::WriteError;
      note(ctx, static_cast<std::size_t>(n));
    }
    give_buffer(std::move(buffer));
  }
}

}  // namespace

const char* to_string(PumpEnd end) {
  switch (end) {
    case PumpEnd::Eof: return "eof";
    case PumpEnd::ReadError: return "read_error";
    case PumpEnd::WriteError: return "write_error";
    case PumpEnd::Closed: return "closed";
  }
  return "?";
}

asio::awaitable<PumpEnd> pump(tcp::socket& from, tcp::socket& to, PumpContext ctx) {
  if (!ctx.use_splice || ctx.pipes == nullptr) co_return co_await copy_pump(from, to, ctx);
  const int src = from.native_handle();
  const int dst = to.native_handle();
  for (;;) {
    if (!co_await ready(from, tcp::socket::wait_read, ctx)) co_return *ctx.closing ? PumpEnd::Closed : PumpEnd::ReadError;
    Pipe pipe = ctx.pipes->acquire();
    if (!pipe.valid()) co_return co_await copy_pump(from, to, ctx);  // out of descriptors: copy instead
    // Invariant: the pipe is empty at the top of this loop, so EAGAIN from the
    // splice-in means the socket has nothing more to read.
    for (;;) {
      const ssize_t in = ::splice(src, nullptr, pipe.write_fd, nullptr, kSpliceChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (in == 0) {
        ctx.pipes->release(pipe);
        co_return forward_eof(to);
      }
      if (in < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        if (would_block(err)) break;
        ctx.pipes->release(pipe);
        if (err == EINVAL || err == ENOSYS) co_return co_await copy_pump(from, to, ctx);  // splice refused
        co_return PumpEnd::ReadError;
      }
      std::size_t queued = static_cast<std::size_t>(in);
      while (queued > 0) {
        const ssize_t out = ::splice(pipe.read_fd, nullptr, dst, nullptr, queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (out > 0) {
          queued -= static_cast<std::size_t>(out);
          note(ctx, static_cast<std::size_t>(out));
          continue;
        }
        if (out < 0 && errno == EINTR) continue;
        if (out < 0 && would_block(errno)) {
          if (co_await ready(to, tcp::socket::wait_write, ctx)) continue;
          ctx.pipes->discard(pipe);  // may still hold bytes
          co_return *ctx.closing ? PumpEnd::Closed : PumpEnd::WriteError;
        }
        ctx.pipes->discard(pipe);
        co_return PumpEnd::WriteError;
      }
    }
    ctx.pipes->release(pipe);
  }
}

}  // namespace kha::proxy
