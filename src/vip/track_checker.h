// TrackChecker: follows the local proxy's readiness (`GET /readyz`, 2xx = pass) as a
// coroutine on the speaker's io_context, every interval, each probe bounded by the
// timeout (http::fetch_async, the client health probes and the CLI share); `fall`
// failures in a row make it failing, `rise` passes make it healthy again (health::Tracker,
// the proxy's own rise/fall rules). The speaker awaits first_probe() before the instance
// starts, so it starts with a known state instead of winning an election with a dead
// proxy; run() then calls its callback on the loop after each change.
#pragma once

#include <functional>
#include <string>

#include <asio.hpp>

#include "vip/vip_config.h"

namespace kha::vip {

// One probe: true when the URL answered 2xx within config.timeout. *why says what failed
// ("Connection refused", "status 503", "timed out after 1000ms"). config and why must
// outlive the awaitable (co_await it directly).
asio::awaitable<bool> probe_http(const TrackConfig& config, std::string* why);

// Not thread-safe: everything runs on the io_context of the coroutines.
class TrackChecker {
 public:
  using OnChange = std::function<void(bool healthy)>;

  explicit TrackChecker(TrackConfig config) : config_(std::move(config)) {}

  // The first probe: decides healthy() before the instance starts.
  asio::awaitable<void> first_probe();
  // Probes every interval after the first, until the coroutine is destroyed; calls
  // on_change(healthy()) after each change. The checker must outlive it.
  asio::awaitable<void> run(OnChange on_change);

  bool healthy() const { return healthy_; }
  // Why the last failing probe failed.
  const std::string& last_failure() const { return last_failure_; }

 private:
  TrackConfig config_;
  bool healthy_ = true;
  std::string last_failure_;
};

}  // namespace kha::vip
