// TrackChecker: the tracking coroutine and its HTTP probe (see track_checker.h).
#include "vip/track_checker.h"

#include "common/address.h"
#include "health/tracker.h"
#include "http/fetch.h"

namespace kha::vip {

asio::awaitable<bool> probe_http(const TrackConfig& c, std::string* why) {
  // Named, not temporaries in the co_await expression: GCC 12 may destroy those twice.
  http::FetchOptions options{.timeout = c.timeout, .user_agent = "kha-vip", .limits = {.max_body = 64 * 1024, .cut_body = true}};
  auto fetch = http::fetch_async(HostPort{c.host, c.port}.to_string(), c.path, std::move(options));
  const http::FetchResult r = co_await std::move(fetch);
  if (!r.ok()) {
    *why = r.error;
    co_return false;
  }
  if (r.status < 200 || r.status > 299) {
    *why = "status " + std::to_string(r.status);
    co_return false;
  }
  why->clear();
  co_return true;
}

asio::awaitable<void> TrackChecker::first_probe() {
  healthy_ = co_await probe_http(config_, &last_failure_);
}

asio::awaitable<void> TrackChecker::run(OnChange on_change) {
  // The first probe decided the state: a Tracker's first outcome does the same.
  health::Tracker state(config_.rise, config_.fall);
  state.record(healthy_ ? health::Outcome::success(health::Layer::Http, "")
                        : health::Outcome::failure(health::Layer::Http, ""));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(config_.interval);
    co_await timer.async_wait(asio::use_awaitable);
    std::string why;
    const bool ok = co_await probe_http(config_, &why);
    if (!ok) last_failure_ = why;
    if (state.record(ok ? health::Outcome::success(health::Layer::Http, "")
                        : health::Outcome::failure(health::Layer::Http, why))) {
      healthy_ = state.state() == health::State::Up;
      on_change(healthy_);
    }
  }
}

}  // namespace kha::vip
