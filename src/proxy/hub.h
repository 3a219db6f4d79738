// Hub: the data path of one worker, on an epoll set of its own: its listening
// sockets, every session from accept to close (race, then relay), and the deadlines
// of the races (hedges, connect timeouts).
//
// Why not Asio here: two measured costs (bench/RESULTS.md).
//  - System calls. Asio registers an accepted socket, re-arms it with epoll_ctl for
//    waits, and each coroutine step of a race costs timers and zero-timeout polls:
//    ~38 system calls per proxied connection against HAProxy's ~19 (strace -c), and
//    1.8x HAProxy's CPU per connection. Here each socket is registered once,
//    edge-triggered, and keeps its registration from the race into the relay.
//  - Memory. A session spends nearly all of its life idle (a kubelet watch waits for
//    hours), and what an idle session holds is what a node pays per client: here one
//    small object and two epoll registrations, no buffer, no pipe, no timer.
// The hub's epoll descriptor is itself waited on through Asio, so the worker still
// runs one event loop (health checks, reload and shutdown talk to it by posting).
//
// Deadlines: one Asio timer per hub, armed for the earliest deadline (no system call
// per session: a new deadline is nearly always later than the one armed).
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <vector>

#include <asio.hpp>

#include "proxy/frontend_runtime.h"
#include "proxy/hub_target.h"
#include "proxy/session.h"

namespace kha::proxy {

class Hub {
 public:
  Hub(asio::io_context& context, WorkerServices& services);
  ~Hub();  // closes every session still open
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Serves `fd` (a listening socket, now owned by the hub) for `frontend`.
  void add_listener(int fd, FrontendPtr frontend, const asio::ip::tcp::endpoint& endpoint);
  // Closes the listeners of `endpoint` (all of them when null). Sessions go on.
  void remove_listeners(const asio::ip::tcp::endpoint* endpoint);
  std::size_t sessions() const { return sessions_.size(); }

  // For targets: registration (edge-triggered for sessions), deadlines, and freeing
  // objects that events of the current batch may still name.
  bool watch(int fd, HubTarget& target, unsigned tag, std::uint32_t events);
  bool rewatch(int fd, HubTarget& target, unsigned tag, std::uint32_t events);
  void set_deadline(HubTarget& target, HubClock::time_point when);
  void clear_deadline(HubTarget& target);
  void retire(std::unique_ptr<HubTarget> target);
  void end_session(Session& session);
  // Keeps a race's loser until its verdict (Attempt::on_deadline, on_event).
  void adopt_orphan(std::unique_ptr<Attempt> attempt);
  void release_orphan(Attempt& attempt);

  asio::io_context& context() { return context_; }
  WorkerServices& services() { return services_; }

 private:
  struct Listener;
  friend struct Listener;
  void accept_from(Listener& listener);
  void wait();
  void drain();
  void flush();
  void schedule_flush();
  void arm_timer(HubClock::time_point when);
  void on_timer();

  asio::io_context& context_;
  WorkerServices& services_;
  int epoll_fd_ = -1;
  asio::posix::stream_descriptor epoll_wait_;
  asio::steady_timer timer_;
  HubClock::time_point armed_ = HubClock::time_point::max();
  std::multimap<HubClock::time_point, HubTarget*> deadlines_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::list<Session> sessions_;
  std::list<std::unique_ptr<Attempt>> orphans_;
  std::vector<std::list<Session>::iterator> dead_sessions_;
  std::vector<std::unique_ptr<HubTarget>> retired_;
  bool flush_posted_ = false;
};

}  // namespace kha::proxy
