// Takeover: SCM_RIGHTS messages, TakeoverServer (the old process hands over), TakeoverClient (the new).
#include "daemon/takeover.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "common/log.h"

namespace kha::daemon {
namespace {

constexpr std::size_t kMaxMessage = 512;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
using namespace asio::experimental::awaitable_operators;

std::string errno_text() { return std::strerror(errno); }

bool fill_address(const std::string& path, sockaddr_un* addr, std::string* error) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr->sun_path) {
    *error = "takeover socket path '" + path + "': expected 1.." + std::to_string(sizeof addr->sun_path - 1) +
             " characters";
    return false;
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// One message, with `fd` attached when >= 0. Blocking; the messages are tiny.
bool send_message(int sock, const std::string& text, int fd) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(text.size());
}

// One message and the descriptor attached to it (-1 if none). false on EOF or error.
bool receive_message(int sock, std::string* text, int* fd) {
  char buf[kMaxMessage];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  *fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(fd, CMSG_DATA(c), sizeof(int));
  text->assign(buf, static_cast<std::size_t>(n));
  return true;
}

}  // namespace

// ---- new side -------------------------------------------------------------------

TakeoverClient::~TakeoverClient() {
  if (fd_ >= 0) ::close(fd_);
  for (auto& [_, fds] : listeners_)
    for (int fd : fds) ::close(fd);
}

std::string TakeoverClient::receive(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr;
  std::string error;
  if (!fill_address(path, &addr, &error)) return error;
  fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return "takeover: socket: " + errno_text();
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return "takeover: cannot connect to " + path + ": " + errno_text() + " (is the old kha running with --takeover-socket " +
           path + "?)";
  for (;;) {
    std::string text;
    int fd = -1;
    if (!receive_message(fd_, &text, &fd))
      return "takeover: " + path + ": the old process closed the connection or did not answer in time (" +
             errno_text() + ")";
    if (text == "end") break;
    if (text.rfind("listen ", 0) == 0 && fd >= 0) {
      listeners_[text.substr(7)].push_back(fd);
      continue;
    }
    if (fd >= 0) ::close(fd);
    return "takeover: " + path + ": unexpected message '" + text + "'";
  }
  return {};
}

std::string TakeoverClient::confirm() {
  if (fd_ < 0) return "takeover: not connected";
  if (!send_message(fd_, "ready", -1)) return "takeover: cannot confirm to the old process: " + errno_text();
  ::close(fd_);
  fd_ = -1;
  return {};
}

// ---- old side -------------------------------------------------------------------

TakeoverServer::TakeoverServer(asio::io_context& io, std::string path, Hooks hooks,
                               std::chrono::milliseconds ready_timeout)
    : io_(io), path_(std::move(path)), hooks_(std::move(hooks)), ready_timeout_(ready_timeout) {}

TakeoverServer::~TakeoverServer() { stop(false); }

std::string TakeoverServer::start() {
  sockaddr_un addr;
  std::string error;
  if (!fill_address(path_, &addr, &error)) return error;
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return "takeover socket: " + errno_text();
  ::unlink(path_.c_str());  // a stale socket of a previous process
  // Only our user may take the listeners. The mode is set at bind (umask), not by a
  // chmod after it: between the two anyone could connect and be handed the sockets.
  // umask is process-wide: a file another thread creates in this instant gets 077 too,
  // which is only stricter (kha's workers create no files).
  const mode_t previous = ::umask(077);
  const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(previous);
  errno = bind_errno;
  if (bound < 0 || ::listen(fd, 4) < 0) {
    error = "takeover socket " + path_ + ": " + errno_text();
    ::close(fd);
    return error;
  }
  listener_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  asio::co_spawn(io_, serve(), log::CoroutineEnd{"takeover_serve"});
  return {};
}

void TakeoverServer::stop(bool unlink) {
  if (!listener_) return;
  asio::error_code ec;
  listener_->close(ec);
  listener_.reset();
  if (unlink) ::unlink(path_.c_str());
}

asio::awaitable<void> TakeoverServer::serve() {
  for (;;) {
    if (!listener_) co_return;
    asio::error_code ec;
    co_await listener_->async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !listener_) co_return;
    int connection = ::accept4(listener_->native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    // The messages go out with blocking sends on the main thread; a peer that reads
    // nothing must not block it once its receive queue is full (a handful of messages).
    const timeval send_timeout{1, 0};
    ::setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    if (co_await hand_over(connection)) {
      stop(/*unlink=*/false);  // the new process binds the path for the next upgrade
      hooks_.after_handoff(true);
      co_return;
    }
    hooks_.after_handoff(false);
  }
}

asio::awaitable<bool> TakeoverServer::hand_over(int connection) {
  log::info("takeover_requested", {{"socket", path_}});
  hooks_.before_handoff();
  const auto listeners = hooks_.listeners();
  bool sent = true;
  for (const auto& [text, fd] : listeners) sent = sent && send_message(connection, "listen " + text, fd);
  sent = sent && send_message(connection, "end", -1);
  // Wait for "ready", the connection to close (the new process failed) or the deadline
  // (a new process that hangs, or a peer that only wanted the admin address gone).
  asio::posix::stream_descriptor peer(io_, connection);
  std::string answer;
  bool timed_out = false;
  if (sent) {
    asio::steady_timer deadline(io_, ready_timeout_);
    const auto first = co_await (peer.async_wait(asio::posix::descriptor_base::wait_read, use_tuple) ||
                                 deadline.async_wait(use_tuple));
    timed_out = first.index() == 1;
    if (!timed_out) {
      char buf[64];
      ssize_t n;
      do n = ::recv(connection, buf, sizeof buf, MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      if (n > 0) answer.assign(buf, static_cast<std::size_t>(n));
    }
  }
  asio::error_code ignored;
  peer.close(ignored);
  if (answer == "ready") {
    log::info("takeover_done", {{"listeners", std::to_string(listeners.size())},
                                {"action", "stopped accepting, draining sessions"}});
    co_return true;
  }
  const std::string reason =
      !sent ? "cannot send the listeners"
      : timed_out ? "the new process did not confirm within " + std::to_string(ready_timeout_.count()) + "ms"
                  : "the new process closed the connection before serving";
  log::warn("takeover_aborted", {{"reason", reason}, {"action", "kept serving, admin endpoint resumed"}});
  co_return false;
}

}  // namespace kha::daemon
