// HubTarget: something registered in a hub's epoll set (hub.h), or waiting for one of
// its deadlines.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

namespace kha::proxy {

using HubClock = std::chrono::steady_clock;

class HubTarget {
 public:
  HubTarget() = default;
  HubTarget(const HubTarget&) = delete;
  HubTarget& operator=(const HubTarget&) = delete;
  virtual ~HubTarget() = default;
  // `tag`: which of the target's descriptors (0 or 1), as given to Hub::watch.
  virtual void on_event(std::uint32_t events, unsigned tag) = 0;
  virtual void on_deadline() {}

 private:
  friend class Hub;
  std::multimap<HubClock::time_point, HubTarget*>::iterator deadline_;
  bool has_deadline_ = false;
};

}  // namespace kha::proxy
