// Hub: the worker's epoll loop: events, posted tasks, timers, deadlines and deferred frees (accepting: hub_accept.cc).
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
#include "proxy/hub_listener.h"
#include "proxy/resolver_thread.h"

namespace kha::proxy {
namespace {

constexpr int kBatch = 256;  // epoll events per epoll_wait

}  // namespace

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
