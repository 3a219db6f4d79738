#include "vip/track_checker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace kha::vip {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for events on fd until deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bool probe_http(const TrackConfig& c, std::string* why) {
  auto deadline = Clock::now() + c.timeout;
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool v6 = c.host.find(':') != std::string::npos;
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(c.port);
    inet_pton(AF_INET6, c.host.c_str(), &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(c.port);
    inet_pton(AF_INET, c.host.c_str(), &s4->sin_addr);
    len = sizeof *s4;
  }
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  auto done = [&](bool ok, std::string reason) {
    ::close(fd);
    *why = std::move(reason);
    return ok;
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS)
    return done(false, std::string("connect: ") + std::strerror(errno));
  if (!wait_for(fd, POLLOUT, deadline)) return done(false, "connect: timeout");
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err) return done(false, std::string("connect: ") + std::strerror(err));
  std::string host = v6 ? "[" + c.host + "]" : c.host;
  std::string req = "GET " + c.path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(c.port) +
                    "\r\nUser-Agent: kha-vip\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return done(false, "send: short write");
  std::string head;
  char buf[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    if (!wait_for(fd, POLLIN, deadline)) return done(false, "read: timeout");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return done(false, "read: connection closed before the status line");
    head.append(buf, static_cast<std::size_t>(n));
  }
  // "HTTP/1.1 200 OK"
  auto sp = head.find(' ');
  if (head.rfind("HTTP/", 0) != 0 || sp == std::string::npos || sp + 4 > head.size())
    return done(false, "not an HTTP response");
  std::string code = head.substr(sp + 1, 3);
  if (code[0] != '2') return done(false, "status " + code);
  return done(true, "");
}

bool RiseFall::observe(bool ok) {
  passes_ = ok ? passes_ + 1 : 0;
  failures_ = ok ? 0 : failures_ + 1;
  bool next = healthy_ ? failures_ < fall_ : passes_ >= rise_;
  bool changed = next != healthy_;
  healthy_ = next;
  return changed;
}

TrackChecker::~TrackChecker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

bool TrackChecker::start() {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return false;
  std::string why;
  bool ok = probe_http(config_, &why);
  healthy_ = ok;
  {
    std::lock_guard lock(mutex_);
    last_failure_ = why;
  }
  thread_ = std::thread([this] { loop(); });
  return true;
}

void TrackChecker::drain() {
  std::uint64_t v;
  while (::read(event_fd_, &v, sizeof v) > 0) {
  }
}

std::string TrackChecker::last_failure() const {
  std::lock_guard lock(mutex_);
  return last_failure_;
}

void TrackChecker::loop() {
  RiseFall state(config_.rise, config_.fall, healthy_.load());
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, config_.interval, [this] { return stop_; })) return;
    }
    std::string why;
    bool ok = probe_http(config_, &why);
    {
      std::lock_guard lock(mutex_);
      if (!ok) last_failure_ = why;
    }
    if (state.observe(ok)) {
      healthy_ = state.healthy();
      std::uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
    }
  }
}

}  // namespace kha::vip
