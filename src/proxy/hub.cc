// Hub: the worker's epoll loop: listeners, accept and hand-over between workers, deadlines, deferred frees.
#include "proxy/hub.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <system_error>

#include "common/log.h"
#include "proxy/accept_balance.h"
#include "proxy/resolver_thread.h"

namespace kha::proxy {
namespace {

constexpr int kBatch = 256;  // epoll events per epoll_wait
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
constexpr std::uint32_t kListenEvents = EPOLLIN | EPOLLEXCLUSIVE;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr auto kCapPause = std::chrono::milliseconds(20);  // at the session cap: look again soon

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

}  // namespace

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

// The eventfd that post() and stop() write to.
struct Hub::Wakeup final : HubTarget {
  explicit Wakeup(Hub& h) : hub(h) {}
  void on_event(std::uint32_t, unsigned) override {
    std::uint64_t n;
    while (::read(hub.wake_fd_, &n, sizeof n) > 0) {
    }
    hub.run_posted();
  }
  Hub& hub;
};

// A task for later (Hub::after).
struct Hub::Timer final : HubTarget {
  void on_event(std::uint32_t, unsigned) override {}
  void on_deadline() override {
    auto t = std::move(task);
    hub->timers_.erase(self);  // `this` is gone
    t();
  }
  Hub* hub = nullptr;
  std::function<void()> task;
  std::list<std::unique_ptr<Timer>>::iterator self;
};

Hub::Hub(WorkerServices& services) : services_(services) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::system_category(), "eventfd");
  wakeup_ = std::make_unique<Wakeup>(*this);
  if (!watch(wake_fd_, *wakeup_, 0, EPOLLIN | EPOLLET)) throw std::system_error(errno, std::system_category(), "epoll_ctl");
}

Hub::~Hub() {
  listeners_.clear();
  sessions_.clear();
  orphans_.clear();
  timers_.clear();
  retired_.clear();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void Hub::run() {
  epoll_event events[kBatch];
  while (!stopping_.load(std::memory_order_acquire)) {
    int timeout = -1;
    if (!deadlines_.empty()) {
      const auto wait = deadlines_.begin()->first - HubClock::now();
      // Rounded up: waking a little late costs nothing, waking early costs a round.
      timeout = wait.count() <= 0 ? 0
                                  : static_cast<int>(std::min<std::int64_t>(
                                        std::chrono::ceil<std::chrono::milliseconds>(wait).count(), 60'000));
    }
    const int n = ::epoll_wait(epoll_fd_, events, kBatch, timeout);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t data = events[i].data.u64;
      auto* target = reinterpret_cast<HubTarget*>(static_cast<std::uintptr_t>(data & ~std::uint64_t{1}));
      target->on_event(events[i].events, static_cast<unsigned>(data & 1));
    }
    flush();  // after the batch: its events may name what ended in it
    if (!deadlines_.empty() && deadlines_.begin()->first <= HubClock::now()) {
      run_deadlines();
      flush();
    }
  }
}

void Hub::stop() {
  stopping_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void Hub::post(std::function<void()> task) {
  bool first;
  {
    std::lock_guard lock(posted_mutex_);
    first = posted_.empty();
    posted_.push_back(std::move(task));
  }
  if (first) {  // the loop drains the whole queue per wake-up
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
}

void Hub::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

void Hub::after(std::chrono::milliseconds delay, std::function<void()> task) {
  auto& t = *timers_.emplace_back(std::make_unique<Timer>());
  t.hub = this;
  t.task = std::move(task);
  t.self = std::prev(timers_.end());
  set_deadline(t, HubClock::now() + delay);
}

void Hub::resolve(const std::string& host, std::uint16_t port,
                  std::function<void(const std::error_code&, std::vector<asio::ip::tcp::endpoint>)> done) {
  resolve_off_thread(host, port, [this, done = std::move(done)](const std::error_code& ec,
                                                               std::vector<asio::ip::tcp::endpoint> endpoints) mutable {
    post([done = std::move(done), ec, endpoints = std::move(endpoints)]() mutable { done(ec, std::move(endpoints)); });
  });
}

void Hub::add_listener(int fd, FrontendPtr frontend, const asio::ip::tcp::endpoint& endpoint) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  auto& l = *listeners_.emplace_back(std::make_unique<Listener>(*this, fd, std::move(frontend), endpoint));
  l.match_defer_accept(l.frontend->settings()->client_first);
  if (!watch(fd, l, 0, kListenEvents))
    log::error("listen_register_failed", {{"listen", endpoint_text(endpoint)},
                                          {"error", std::error_code(errno, std::system_category()).message()}});
}

void Hub::remove_listeners(const asio::ip::tcp::endpoint* endpoint) {
  for (auto& l : listeners_) {
    if (endpoint && l->endpoint != *endpoint) continue;
    l->close_fd();
    clear_deadline(*l);
    retire(std::move(l));
  }
  std::erase(listeners_, nullptr);
}

void Hub::accept_from(Listener& l) {
  // The settings are swapped whole by reload (a short lock, one per client).
  const auto settings = l.frontend->settings();
  const bool deferred = l.deferred;  // how the clients waiting now were queued
  l.match_defer_accept(settings->client_first);  // a reload may have changed client_first
  if (at_session_cap()) {
    // Clients wait in the listen backlog; descriptors stay for probes and admin.
    l.pause();
    set_deadline(l, HubClock::now() + kCapPause);
    return;
  }
  if (at_frontend_cap(l, *settings)) {  // this frontend's share: the others keep accepting
    l.pause();
    set_deadline(l, HubClock::now() + kCapPause);
    return;
  }
  for (;;) {  // one client (kListenEvents says why); retried only past a client that left
    const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;  // another worker took it
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      // EMFILE and friends: pause instead of spinning on a full descriptor table.
      log::warn("accept_failed", {{"listen", endpoint_text(l.endpoint)},
                                  {"error", std::error_code(err, std::system_category()).message()},
                                  {"pause_ms", std::to_string(kAcceptPause.count())}});
      l.pause();
      set_deadline(l, HubClock::now() + kAcceptPause);
      return;
    }
    // TCP_NODELAY, keepalive and TCP_USER_TIMEOUT came with accept(): see Worker::listen.
    // Counted from accept, so that clients in hand-over count against max_sessions too.
    SessionSlot slot = l.frontend->take_slot();
    if (Hub* to = balance_target()) {
      handovers_.fetch_add(1, std::memory_order_relaxed);
      return to->take_client(fd, std::move(slot), l.frontend, deferred, settings);
    }
    start_session(fd, std::move(slot), l.frontend, deferred, *settings);
    return;
  }
}

void Hub::start_session(int fd, SessionSlot slot, const FrontendPtr& frontend, bool deferred,
                        const config::Frontend& settings) {
  Session& s = sessions_.emplace_back(*this, fd, std::move(slot), frontend, deferred);
  s.self_ = std::prev(sessions_.end());
  s.start(settings);
}

bool Hub::at_session_cap() {
  const std::size_t limit = cap_ ? cap_->limit.load(std::memory_order_relaxed) : 0;
  if (limit == 0) return false;
  std::size_t total = load();
  for (const Hub* p : peers_) total += p->load();
  if (total < limit) return false;
  cap_->pauses.fetch_add(1, std::memory_order_relaxed);
  const auto now = HubClock::now();
  if (now - cap_logged_ >= std::chrono::seconds(10)) {
    cap_logged_ = now;
    log::warn("session_cap_reached", {{"sessions", std::to_string(total)}, {"cap", std::to_string(limit)},
                                       {"action", "new clients wait in the listen backlog"}});
  }
  return true;
}

bool Hub::at_frontend_cap(Listener& l, const config::Frontend& settings) {
  if (settings.max_sessions <= 0) return false;
  const auto open = l.frontend->open_sessions();
  if (open < static_cast<std::size_t>(settings.max_sessions)) return false;
  l.frontend->stats().cap_pauses.fetch_add(1, std::memory_order_relaxed);
  const auto now = HubClock::now();
  if (now - l.cap_logged >= std::chrono::seconds(10)) {
    l.cap_logged = now;
    log::warn("frontend_session_cap_reached",
              {{"frontend", l.frontend->name()}, {"listen", endpoint_text(l.endpoint)}, {"sessions", std::to_string(open)},
               {"max_sessions", std::to_string(settings.max_sessions)},
               {"action", "new clients of this frontend wait in the listen backlog"}});
  }
  return true;
}

std::size_t Hub::load() const {
  return services_.active.load(std::memory_order_relaxed) + incoming_.load(std::memory_order_relaxed);
}

Hub* Hub::balance_target() {
  for (std::size_t i = 0; i < peers_.size(); ++i) peer_loads_[i] = peers_[i]->load();
  const auto to = hand_over_to(load(), peer_loads_);
  return to ? peers_[*to] : nullptr;
}

// Called on the accepting worker's thread, with the settings it read; the session starts
// on this hub's. A client posted to a hub that stops before running it is closed, not
// leaked.
void Hub::take_client(int fd, SessionSlot slot, FrontendPtr frontend, bool deferred,
                      std::shared_ptr<const config::Frontend> settings) {
  struct Client {
    Client(int f, SessionSlot s) : fd(f), slot(std::move(s)) {}
    ~Client() {
      if (fd >= 0) ::close(fd);
    }
    int fd;
    SessionSlot slot;
  };
  incoming_.fetch_add(1, std::memory_order_relaxed);
  post([this, client = std::make_shared<Client>(fd, std::move(slot)), frontend = std::move(frontend), deferred,
        settings = std::move(settings)] {
    incoming_.fetch_sub(1, std::memory_order_relaxed);
    start_session(std::exchange(client->fd, -1), std::move(client->slot), frontend, deferred, *settings);
  });
}

bool Hub::watch(int fd, HubTarget& target, unsigned tag, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = reinterpret_cast<std::uintptr_t>(&target) | tag;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Hub::rewatch(int fd, HubTarget& target, unsigned tag, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = reinterpret_cast<std::uintptr_t>(&target) | tag;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Hub::set_deadline(HubTarget& t, HubClock::time_point when) {
  if (t.has_deadline_) {
    if (t.deadline_->first == when) return;
    deadlines_.erase(t.deadline_);
  }
  t.deadline_ = deadlines_.emplace(when, &t);
  t.has_deadline_ = true;
}

void Hub::clear_deadline(HubTarget& t) {
  if (!t.has_deadline_) return;
  deadlines_.erase(t.deadline_);
  t.has_deadline_ = false;
}

void Hub::run_deadlines() {
  const auto now = HubClock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    HubTarget* t = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    t->has_deadline_ = false;
    t->on_deadline();  // may set new deadlines, end sessions
  }
}

void Hub::retire(std::unique_ptr<HubTarget> target) {
  if (!target) return;
  retired_.push_back(std::move(target));  // freed at the end of the loop's round
}

void Hub::end_session(Session& s) {
  if (s.dead_) return;
  s.dead_ = true;
  s.control_.closing = true;
  dead_sessions_.push_back(s.self_);  // freed at the end of the loop's round
}

void Hub::adopt_orphan(std::unique_ptr<Attempt> a) {
  Attempt& ref = *a;
  orphans_.push_back(std::move(a));
  ref.orphan_it = std::prev(orphans_.end());
}

void Hub::release_orphan(Attempt& a) {
  clear_deadline(a);
  a.close_socket();
  a.state = Attempt::State::Retired;
  retire(std::move(*a.orphan_it));
  orphans_.erase(a.orphan_it);
}

void Hub::flush() {
  while (!dead_sessions_.empty() || !retired_.empty()) {
    auto dead = std::move(dead_sessions_);
    dead_sessions_.clear();
    for (auto it : dead) sessions_.erase(it);
    auto retired = std::move(retired_);  // freed here; their destructors may retire more
    retired_.clear();
  }
}

}  // namespace kha::proxy
