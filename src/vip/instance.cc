// Instance: the VRRPv3 transitions (start, adverts, timers, fault, tracking, shutdown) and their Actions.
#include "vip/instance.h"

#include <algorithm>

namespace kha::vip {

std::string_view state_name(State state) {
  switch (state) {
    case State::Initialize: return "initialize";
    case State::Backup: return "backup";
    case State::Master: return "master";
    case State::Fault: return "fault";
  }
  return "unknown";
}

Instance::Instance(InstanceConfig config) : config_(config), master_adver_interval_(config.advert_interval) {}

std::uint8_t Instance::priority() const {
  if (healthy_ || owner()) return config_.priority;
  if (config_.track_weight <= 0) return 0;
  return static_cast<std::uint8_t>(std::max(1, config_.priority - config_.track_weight));
}

Instance::Duration Instance::skew_time() const {
  return master_adver_interval_ * (256 - priority()) / 256;
}

Instance::Duration Instance::master_down_interval() const { return 3 * master_adver_interval_ + skew_time(); }

void Instance::enter(State next, std::string_view reason) {
  if (next != state_) ++transitions_;
  state_ = next;
  last_reason_ = reason;
}

Actions Instance::become_master(TimePoint now, std::string_view reason) {
  enter(State::Master, reason);
  master_address_ = config_.primary;
  deadline_ = now + config_.advert_interval;
  return {{ActionKind::AddAddresses}, {ActionKind::SendAdvert, priority()}, {ActionKind::Announce}};
}

Actions Instance::become_backup(TimePoint now, std::string_view reason, bool remove) {
  enter(State::Backup, reason);
  deadline_ = now + master_down_interval();
  if (remove) return {{ActionKind::RemoveAddresses}};
  return {};
}

Actions Instance::start(TimePoint now) {
  started_ = true;
  master_adver_interval_ = config_.advert_interval;
  preempt_allowed_at_ = now + config_.preempt_delay;
  if (should_fault()) {
    enter(State::Fault, link_up_ ? "tracked_check_failing" : "link_down");
    deadline_.reset();
    return {};
  }
  if (owner()) return become_master(now, "address_owner");
  return become_backup(now, "startup", false);
}

Actions Instance::on_advert(TimePoint now, const Advert& advert, const IpAddress& source) {
  switch (state_) {
    case State::Initialize:
    case State::Fault:
      return {};
    case State::Master:
      return on_advert_as_master(now, advert, source);
    case State::Backup:
      break;
  }
  if (advert.priority == 0) {  // the master is stopping: the first backup after Skew_Time takes over
    deadline_ = now + skew_time();
    return {};
  }
  if (!config_.preempt || advert.priority >= priority()) {
    master_adver_interval_ = std::chrono::milliseconds(advert.max_adver_int_cs * 10);
    master_address_ = source;
    deadline_ = now + master_down_interval();
    return {};
  }
  // Preempt a lower-priority master, after Skew_Time and not before the preemption delay ends.
  // Inside the delay the lower master is treated as a peer we do not preempt.
  if (now < preempt_allowed_at_) {
    master_address_ = source;
    deadline_ = now + master_down_interval();
    return {};
  }
  TimePoint at = now + skew_time();
  if (!deadline_ || at < *deadline_) deadline_ = at;
  return {};
}

Actions Instance::on_advert_as_master(TimePoint now, const Advert& advert, const IpAddress& source) {
  if (advert.priority == 0) {
    deadline_ = now + config_.advert_interval;
    return {{ActionKind::SendAdvert, priority()}};
  }
  if (advert.priority > priority() || (advert.priority == priority() && source > config_.primary)) {
    master_adver_interval_ = std::chrono::milliseconds(advert.max_adver_int_cs * 10);
    master_address_ = source;
    return become_backup(now, advert.priority > priority() ? "higher_priority_advert" : "equal_priority_higher_address",
                         !owner());
  }
  // Another master with a lower priority: re-assert at once, as keepalived does, and announce
  // again: clients may have followed the other master's gratuitous ARP while we were hung.
  deadline_ = now + config_.advert_interval;
  return {{ActionKind::SendAdvert, priority()}, {ActionKind::Announce}};
}

Actions Instance::on_timer(TimePoint now) {
  if (!deadline_ || now < *deadline_) return {};
  if (state_ == State::Master) {
    deadline_ = now + config_.advert_interval;
    return {{ActionKind::SendAdvert, priority()}};
  }
  if (state_ == State::Backup) return become_master(now, "master_down_timer");
  deadline_.reset();
  return {};
}

Actions Instance::update_fault(TimePoint now, std::string_view reason) {
  if (!started_) return {};
  if (should_fault()) {
    if (state_ == State::Fault) return {};
    bool was_master = state_ == State::Master;
    enter(State::Fault, reason);
    deadline_.reset();
    if (!was_master) return {};
    if (owner()) return {{ActionKind::SendAdvert, 0}};
    return {{ActionKind::SendAdvert, 0}, {ActionKind::RemoveAddresses}};
  }
  if (state_ != State::Fault) return {};
  if (owner()) return become_master(now, reason);
  return become_backup(now, reason, false);
}

Actions Instance::set_tracked_healthy(TimePoint now, bool healthy) {
  if (healthy == healthy_ || owner()) {
    healthy_ = healthy;
    return {};
  }
  std::uint8_t before = priority();
  healthy_ = healthy;
  if (!started_) return {};
  if (config_.track_weight <= 0) return update_fault(now, healthy ? "tracked_check_recovered" : "tracked_check_failed");
  if (state_ == State::Master && priority() != before) {  // tell the backups at once
    deadline_ = now + config_.advert_interval;
    return {{ActionKind::SendAdvert, priority()}};
  }
  return {};
}

Actions Instance::set_link_up(TimePoint now, bool up) {
  if (up == link_up_) return {};
  link_up_ = up;
  return update_fault(now, up ? "link_up" : "link_down");
}

Actions Instance::shutdown(TimePoint now) {
  (void)now;
  bool was_master = state_ == State::Master;
  enter(State::Initialize, "shutdown");
  deadline_.reset();
  started_ = false;
  if (!was_master) return {};
  Actions out{{ActionKind::SendAdvert, 0}};
  if (!owner()) out.push_back({ActionKind::RemoveAddresses});
  return out;
}

}  // namespace kha::vip
