// TrackChecker: follows the local proxy's readiness (`GET /readyz`, 2xx = pass) on its own
// thread, every interval, each probe bounded by the timeout; `fall` failures in a row
// make it failing, `rise` passes make it healthy again (health::Tracker, the proxy's own
// rise/fall rules). A change wakes the speaker's
// loop through an eventfd. The first probe runs in start(), so the instance starts with a
// known state instead of winning an election with a dead proxy.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "vip/vip_config.h"

namespace kha::vip {

// One probe (http::fetch): true when the URL answered 2xx within config.timeout. *why says
// what failed ("Connection refused", "status 503", "timed out after 1000ms").
bool probe_http(const TrackConfig& config, std::string* why);

class TrackChecker {
 public:
  explicit TrackChecker(TrackConfig config) : config_(std::move(config)) {}
  ~TrackChecker();
  TrackChecker(const TrackChecker&) = delete;
  TrackChecker& operator=(const TrackChecker&) = delete;

  // Runs the first probe, then starts the thread. Returns false if the eventfd cannot be made.
  bool start();
  // Readable after each change of healthy(); call drain() then read healthy().
  int fd() const { return event_fd_; }
  void drain();
  bool healthy() const { return healthy_.load(); }
  std::string last_failure() const;

 private:
  void loop();

  TrackConfig config_;
  std::atomic<bool> healthy_{true};
  int event_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;          // guarded by mutex_
  std::string last_failure_;   // guarded by mutex_
};

}  // namespace kha::vip
