// loadclient: the benchmark's own TCP client, for what wrk and iperf3 do not
// measure. Single thread, epoll, non-blocking sockets, loopback only.
//
//   loadclient connrate HOST PORT [--concurrency C] [--duration SECONDS]
//       New connections per second: keeps C connections in flight; each one
//       connects, sends one HTTP/1.1 GET with "Connection: close", reads the
//       answer until the server closes, and closes. Prints one JSON line:
//       {"conns":N,"errors":E,"seconds":S,"rate":N/S}.
//
//   loadclient hold HOST PORT --count N [--max-hold SECONDS]
//       Idle connections: opens N connections (at most 256 connecting at a
//       time), sends one keep-alive GET on each and reads its answer, then
//       prints {"held":H,"errors":E} and keeps them idle until a line arrives
//       on stdin, stdin closes, or --max-hold passes; then closes them all.
//
// Every loop is bounded in count and time. Exit 0 on success, 2 on usage
// errors, 1 on runtime errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kCloseRequest[] =
    "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
constexpr char kKeepRequest[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

enum class Phase { Connecting, Reading, Idle, Done };

struct Conn {
  int fd = -1;
  Phase phase = Phase::Done;
  std::string got;
};

int usage() {
  std::fprintf(stderr,
               "usage: loadclient connrate HOST PORT [--concurrency C] "
               "[--duration S]\n"
               "       loadclient hold HOST PORT --count N [--max-hold S]\n");
  return 2;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Starts a non-blocking connect; returns the fd or -1.
int start_connect(const sockaddr_in& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  if (rc < 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when `got` holds one complete HTTP response (headers + Content-Length).
bool response_complete(const std::string& got) {
  auto end = got.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  size_t length = 0;
  auto cl = got.find("Content-Length:");
  if (cl == std::string::npos) cl = got.find("content-length:");
  if (cl != std::string::npos && cl < end)
    length = std::strtoul(got.c_str() + cl + 15, nullptr, 10);
  return got.size() >= end + 4 + length;
}

int run_connrate(const sockaddr_in& addr, int concurrency, double duration) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(concurrency));
  long done = 0, errors = 0;
  auto t0 = Clock::now();
  auto open_slot = [&](size_t i) {
    Conn& c = conns[i];
    c.got.clear();
    c.fd = start_connect(addr);
    if (c.fd < 0) {
      ++errors;
      c.phase = Phase::Done;
      return;
    }
    c.phase = Phase::Connecting;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };
  auto finish = [&](size_t i, bool ok) {
    Conn& c = conns[i];
    ::close(c.fd);  // closing removes it from epoll
    c.fd = -1;
    c.phase = Phase::Done;
    if (ok) ++done; else ++errors;
  };
  for (size_t i = 0; i < conns.size(); ++i) open_slot(i);
  std::vector<epoll_event> events(1024);
  char buf[4096];
  const long kMaxErrors = 1000000;
  while (seconds_since(t0) < duration && errors < kMaxErrors) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      size_t i = events[static_cast<size_t>(k)].data.u64;
      Conn& c = conns[i];
      if (c.phase == Phase::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) { finish(i, false); open_slot(i); continue; }
        if (::send(c.fd, kCloseRequest, sizeof kCloseRequest - 1, MSG_NOSIGNAL) < 0) {
          finish(i, false); open_slot(i); continue;
        }
        c.phase = Phase::Reading;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        continue;
      }
      if (c.phase != Phase::Reading) continue;
      for (int reads = 0; reads < 16; ++reads) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) { c.got.append(buf, static_cast<size_t>(r)); continue; }
        if (r == 0) {
          bool ok = c.got.compare(0, 12, "HTTP/1.1 200") == 0;
          finish(i, ok); open_slot(i);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          finish(i, false); open_slot(i);
        }
        break;
      }
    }
    // Slots whose connect failed synchronously: retry them (bounded by the loop).
    for (size_t i = 0; i < conns.size(); ++i)
      if (conns[i].phase == Phase::Done) open_slot(i);
  }
  double secs = seconds_since(t0);
  for (auto& c : conns) if (c.fd >= 0) ::close(c.fd);
  ::close(ep);
  std::printf("{\"conns\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rate\":%.1f}\n",
              done, errors, secs, static_cast<double>(done) / secs);
  return 0;
}

int run_hold(const sockaddr_in& addr, int count, double max_hold) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(count));
  long held = 0, errors = 0;
  size_t next = 0;
  int in_flight = 0;
  const int kWindow = 256;
  auto t0 = Clock::now();
  std::vector<epoll_event> events(1024);
  char buf[4096];
  // Open phase: bounded by count and by 120 s.
  while ((next < conns.size() || in_flight > 0) && seconds_since(t0) < 120) {
    while (next < conns.size() && in_flight < kWindow) {
      Conn& c = conns[next];
      c.fd = start_connect(addr);
      if (c.fd < 0) { ++errors; ++next; continue; }
      c.phase = Phase::Connecting;
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN;
      ev.data.u64 = next;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
      ++next;
      ++in_flight;
    }
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      size_t i = events[static_cast<size_t>(k)].data.u64;
      Conn& c = conns[i];
      auto fail = [&] {
        ::close(c.fd); c.fd = -1; c.phase = Phase::Done; ++errors; --in_flight;
      };
      if (c.phase == Phase::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || ::send(c.fd, kKeepRequest, sizeof kKeepRequest - 1, MSG_NOSIGNAL) < 0) {
          fail(); continue;
        }
        c.phase = Phase::Reading;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
      } else if (c.phase == Phase::Reading) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.got.append(buf, static_cast<size_t>(r));
          if (response_complete(c.got)) {
            c.phase = Phase::Idle;
            c.got = std::string();
            ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
            ++held; --in_flight;
          }
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          fail();
        }
      }
    }
  }
  std::printf("{\"held\":%ld,\"errors\":%ld,\"open_seconds\":%.2f}\n", held, errors,
              seconds_since(t0));
  std::fflush(stdout);
  // Idle phase: wait for a line on stdin (or EOF), at most max_hold seconds.
  ::fcntl(0, F_SETFL, ::fcntl(0, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = ~0ull;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  auto t1 = Clock::now();
  while (seconds_since(t1) < max_hold) {
    int n = ::epoll_wait(ep, events.data(), 1, 200);
    if (n > 0) break;
  }
  for (auto& c : conns) if (c.fd >= 0) ::close(c.fd);
  ::close(ep);
  return held == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  std::string mode = argv[1];
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) return usage();
  int port = std::atoi(argv[3]);
  if (port <= 0 || port > 65535) return usage();
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int concurrency = 32, count = 0;
  double duration = 10, max_hold = 300;
  for (int i = 4; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--concurrency") concurrency = std::atoi(argv[i + 1]);
    else if (key == "--duration") duration = std::atof(argv[i + 1]);
    else if (key == "--count") count = std::atoi(argv[i + 1]);
    else if (key == "--max-hold") max_hold = std::atof(argv[i + 1]);
    else return usage();
  }
  if (mode == "connrate" && concurrency > 0 && concurrency <= 4096 && duration > 0 &&
      duration <= 600)
    return run_connrate(addr, concurrency, duration);
  if (mode == "hold" && count > 0 && count <= 100000 && max_hold > 0 && max_hold <= 3600)
    return run_hold(addr, count, max_hold);
  return usage();
}
