// TrackChecker: the tracking thread and its HTTP probe (see track_checker.h).
#include "vip/track_checker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "common/address.h"
#include "health/tracker.h"
#include "http/fetch.h"

namespace kha::vip {

bool probe_http(const TrackConfig& c, std::string* why) {
  const auto r = http::fetch(HostPort{c.host, c.port}.to_string(), c.path,
                             {.timeout = c.timeout, .user_agent = "kha-vip", .limits = {.max_body = 64 * 1024, .cut_body = true}});
  if (!r.ok()) {
    *why = r.error;
    return false;
  }
  if (r.status < 200 || r.status > 299) {
    *why = "status " + std::to_string(r.status);
    return false;
  }
  why->clear();
  return true;
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
  // The first probe (start()) decided the state: a Tracker's first outcome does the same.
  health::Tracker state(config_.rise, config_.fall);
  state.record(healthy_.load() ? health::Outcome::success(health::Layer::Http, "")
                               : health::Outcome::failure(health::Layer::Http, ""));
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
    if (state.record(ok ? health::Outcome::success(health::Layer::Http, "")
                        : health::Outcome::failure(health::Layer::Http, why))) {
      healthy_ = state.state() == health::State::Up;
      std::uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
    }
  }
}

}  // namespace kha::vip
