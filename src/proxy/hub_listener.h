// Hub::Listener: a worker's descriptor of a listening socket every worker waits on,
// and the accept rules (EPOLLEXCLUSIVE, pauses); private to hub.cc and hub_accept.cc.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <system_error>

#include "common/log.h"
#include "proxy/hub.h"

namespace kha::proxy {

// Every worker waits on every listening socket (EPOLLEXCLUSIVE: the kernel wakes one
// waiting worker per new client, not all of them) and takes one client per pass of its
// loop. So a new client goes to whichever worker is free first: a worker that shares its
// core with a busy client or backend comes back to its loop later and takes fewer. A
// fixed split (one SO_REUSEPORT socket per worker, the kernel hashing clients over them)
// left a core idle about 10 % of the time while the other worker's queue waited (new
// connections/s +5 %, bench/RESULTS.md). The listener is level-triggered: while more
// clients wait it stays ready, and the next pass takes the next one. The kernel wakes
// the first registered worker that waits, so in a burst one worker could take every
// client: a worker that holds clearly more sessions than another hands the new client
// over (accept_balance.h), so long-lived sessions stay spread over the cores.
inline constexpr std::uint32_t kListenEvents = EPOLLIN | EPOLLEXCLUSIVE;
inline constexpr auto kAcceptPause = std::chrono::milliseconds(100);
inline constexpr auto kCapPause = std::chrono::milliseconds(20);  // at the session cap: look again soon

inline std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

// This worker's descriptor of a listening socket that every worker waits on.
struct Hub::Listener final : HubTarget {
  Listener(Hub& h, int f, FrontendPtr fe, const asio::ip::tcp::endpoint& e)
      : hub(h), fd(f), frontend(std::move(fe)), endpoint(e) {}
  ~Listener() override {
    if (fd >= 0) close_fd();
  }
  void on_event(std::uint32_t, unsigned) override {
    if (fd >= 0 && !paused) hub.accept_from(*this);
  }
  void on_deadline() override {  // the pause after an accept error is over
    if (fd < 0) return;
    paused = false;
    if (!hub.watch(fd, *this, 0, kListenEvents))  // EPOLLEXCLUSIVE cannot be modified: added anew
      log::error("listen_register_failed", {{"listen", endpoint_text(endpoint)},
                                            {"error", std::error_code(errno, std::system_category()).message()}});
  }
  void pause() {
    paused = true;
    ::epoll_ctl(hub.epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  }
  void close_fd() {
    // Explicitly: the other workers and a takeover hold other descriptors of this
    // socket, and epoll forgets a registration only when the last one closes.
    if (!paused) ::epoll_ctl(hub.epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    fd = -1;
  }
  // TCP_DEFER_ACCEPT for client-first frontends (TLS: the client speaks first): the
  // kernel hands a connection over when its first bytes arrived, so that accepting it
  // and reading them is one wake-up, not two. A client that stays silent is handed over
  // after a second anyway. Follows the frontend's `client_first` across reloads.
  void match_defer_accept(bool want) {
    if (want == deferred) return;
    const int seconds = want ? 1 : 0;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) == 0) deferred = want;
  }
  Hub& hub;
  int fd;
  FrontendPtr frontend;
  asio::ip::tcp::endpoint endpoint;
  bool paused = false;
  bool deferred = false;
  HubClock::time_point cap_logged{};  // the frontend's max_sessions is logged once per 10 s
};

}  // namespace kha::proxy
