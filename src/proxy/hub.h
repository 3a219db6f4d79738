// Hub: the data path of one worker, on an epoll set of its own: its listening
// sockets, every session from accept to close (race, then relay), and the deadlines
// of the races (hedges, connect timeouts).
//
// Why no Asio here: measured costs (bench/RESULTS.md).
//  - System calls. Asio registers an accepted socket, re-arms descriptors with
//    epoll_ctl for waits, and each coroutine step of a race costs timers and
//    zero-timeout polls: ~38 system calls per proxied connection against HAProxy's
//    ~19 (strace -c), and 1.8x HAProxy's CPU per connection. Here each socket is
//    registered once, edge-triggered, and keeps its registration from the race into
//    the relay; a wake-up of the worker is one epoll_wait (through Asio it was two
//    and an epoll_ctl).
//  - Memory. A session spends nearly all of its life idle (a kubelet watch waits for
//    hours), and what an idle session holds is what a node pays per client: here one
//    small object and two epoll registrations, no buffer, no pipe, no timer.
// The hub's thread runs only this loop. Other threads hand it work with post(); names
// are resolved on a shared resolver thread and the answer posted back.
//
// Deadlines: an ordered map; the loop's epoll_wait sleeps until the earliest.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <asio.hpp>

#include "proxy/frontend_runtime.h"
#include "proxy/hub_target.h"
#include "proxy/session.h"
#include "proxy/session_cap.h"

namespace kha::proxy {

class Hub {
 public:
  explicit Hub(WorkerServices& services);
  ~Hub();  // closes every session still open; call after run() returned
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // The worker thread's loop, until stop().
  void run();
  // Thread-safe.
  void stop();
  void post(std::function<void()> task);

  // Serves `fd` (a listening socket, now owned by the hub) for `frontend`.
  void add_listener(int fd, FrontendPtr frontend, const asio::ip::tcp::endpoint& endpoint);
  // Closes the listeners of `endpoint` (all of them when null). Sessions go on.
  void remove_listeners(const asio::ip::tcp::endpoint* endpoint);
  // Runs `task` on this thread after `delay`.
  void after(std::chrono::milliseconds delay, std::function<void()> task);
  // Resolves host:port off this thread; `done` runs on this thread.
  void resolve(const std::string& host, std::uint16_t port,
               std::function<void(const std::error_code&, std::vector<asio::ip::tcp::endpoint>)> done);

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

  WorkerServices& services() { return services_; }
  // The other workers' hubs, which a burst of clients is spread over (accept_balance.h).
  // Set before run().
  void set_peers(std::vector<Hub*> peers) {
    peers_ = std::move(peers);
    peer_loads_.assign(peers_.size(), 0);
  }
  // The process-wide session cap every worker checks before it accepts. Set before run().
  void set_session_cap(std::shared_ptr<SessionCap> cap) { cap_ = std::move(cap); }
  // Sessions, plus clients handed over and not started yet. Any thread.
  std::size_t load() const;
  // Clients this hub accepted and handed to another (accept_balance.h). Any thread.
  std::uint64_t handovers() const { return handovers_.load(std::memory_order_relaxed); }
  // accept() failures that paused a listener (EMFILE and the like). Any thread.
  std::uint64_t accept_failures() const { return accept_failures_.load(std::memory_order_relaxed); }

 private:
  struct Listener;
  struct Wakeup;
  struct Timer;
  friend struct Listener;
  void accept_from(Listener& listener);
  Hub* balance_target();
  bool at_session_cap();
  void note_frontend_cap(Listener& l, const config::Frontend& settings);  // counted, logged each 10 s
  // Starts a client another hub accepted (accept_balance.h); called on that hub's thread.
  void take_client(int fd, SessionSlot slot, FrontendPtr frontend, bool deferred,
                   std::shared_ptr<const config::Frontend> settings);
  void start_session(int fd, SessionSlot slot, const FrontendPtr& frontend, bool deferred,
                     const config::Frontend& settings);
  void run_posted();
  void run_deadlines();
  void flush();

  WorkerServices& services_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: post() and stop()
  std::unique_ptr<Wakeup> wakeup_;
  std::atomic<bool> stopping_{false};
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::multimap<HubClock::time_point, HubTarget*> deadlines_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::list<Session> sessions_;
  std::list<std::unique_ptr<Attempt>> orphans_;
  std::list<std::unique_ptr<Timer>> timers_;
  std::vector<std::list<Session>::iterator> dead_sessions_;
  std::vector<std::unique_ptr<HubTarget>> retired_;
  std::vector<Hub*> peers_;
  std::vector<std::size_t> peer_loads_;  // balance_target's scratch, sized with peers_
  std::atomic<std::size_t> incoming_{0};  // clients handed to this hub, not started yet
  std::atomic<std::uint64_t> handovers_{0};
  std::atomic<std::uint64_t> accept_failures_{0};
  std::shared_ptr<SessionCap> cap_;
  HubClock::time_point cap_logged_{};  // the cap is logged once per 10 s per worker
};

}  // namespace kha::proxy
