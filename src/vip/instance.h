// Instance: one VRRPv3 virtual router's state machine (RFC 5798 section 6), pure.
// It never reads a clock or touches a socket: the caller passes `now` into every event
// and carries out the returned Actions (send an advert, add/remove the addresses,
// announce them). Tests drive it with a plain time_point as a fake clock.
//
// Timers, worked example (priority 100, Master_Adver_Interval 1 s):
//   Skew_Time            = ((256 - 100) * 1 s) / 256 = 0.609 s
//   Master_Down_Interval = 3 * 1 s + 0.609 s          = 3.609 s
// A backup that hears nothing for 3.609 s becomes master; after a priority-0 advert
// (a master stopping) it waits only Skew_Time, so the highest-priority backup goes first.
//
// Deviations from the RFC, both as keepalived does or compatible with it:
//  - A master that hears a lower-priority advert answers at once with its own advert
//    (keepalived "forcing new election") and announces its addresses again, so a master
//    that resumes after a hang wins the link back at once and the clients follow it.
//  - A backup with preemption on that hears a lower-priority master waits Skew_Time
//    (not Master_Down_Interval) before taking over, so that a master whose tracked
//    proxy failed (and whose priority dropped) is replaced within about 0.6 s.
//  - Tracking with weight 0 gives up: the instance enters Fault (sends priority 0
//    if it was master, removes the addresses) until the check passes again. Losing the
//    interface's carrier does the same (keepalived's FAULT).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "vip/ip_address.h"
#include "vip/packet.h"

namespace kha::vip {

enum class State { Initialize, Backup, Master, Fault };
std::string_view state_name(State state);  // "initialize", "backup", "master", "fault"

struct InstanceConfig {
  std::uint8_t vrid = 1;
  std::uint8_t priority = 100;  // 1-254 backup, 255 address owner (master at once, never tracked)
  std::chrono::microseconds advert_interval = std::chrono::seconds(1);  // 10 ms - 40.95 s
  bool preempt = true;
  std::chrono::microseconds preempt_delay{0};  // no preemption of a lower master before start + delay
  IpAddress primary;  // our source address: breaks ties between equal priorities
  int track_weight = 0;  // priority lost while the tracked check fails; 0 = give up (Fault)
};

enum class ActionKind {
  SendAdvert,       // send one advert with `priority`
  AddAddresses,     // configure the virtual addresses on the interface
  RemoveAddresses,  // remove them
  Announce,         // gratuitous ARP / unsolicited NA for every address
};
struct Action {
  ActionKind kind;
  std::uint8_t priority = 0;  // SendAdvert only
  bool operator==(const Action&) const = default;
};
using Actions = std::vector<Action>;

class Instance {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = std::chrono::microseconds;

  explicit Instance(InstanceConfig config);

  // Initialize -> Master (address owner) or Backup.
  Actions start(TimePoint now);
  // A valid advert for our VRID from source (already checked by the codec).
  Actions on_advert(TimePoint now, const Advert& advert, const IpAddress& source);
  // Call once now >= deadline(): the advert timer (Master) or Master_Down_Timer (Backup).
  Actions on_timer(TimePoint now);
  // Result of the tracked check (the local proxy's /readyz). Starts healthy.
  Actions set_tracked_healthy(TimePoint now, bool healthy);
  // Carrier of the interface (starts up). Down: Fault (a master removes the addresses, as
  // keepalived does); up again: Backup, which preempts back if it has the higher priority.
  Actions set_link_up(TimePoint now, bool up);
  // Graceful stop: a master sends priority 0 and removes the addresses. -> Initialize.
  Actions shutdown(TimePoint now);

  // When on_timer must run next; nullopt in Initialize and Fault.
  std::optional<TimePoint> deadline() const { return deadline_; }
  State state() const { return state_; }
  std::uint8_t priority() const;  // effective priority (after tracking)
  bool tracked_healthy() const { return healthy_; }
  Duration master_adver_interval() const { return master_adver_interval_; }
  Duration skew_time() const;
  Duration master_down_interval() const;
  std::uint64_t transitions() const { return transitions_; }
  // Why the last transition happened: "master_down_timer", "higher_priority", ...
  std::string_view last_reason() const { return last_reason_; }
  // The master we last heard from (Backup), or our own primary (Master).
  std::optional<IpAddress> master_address() const { return master_address_; }
  const InstanceConfig& config() const { return config_; }

 private:
  void enter(State next, std::string_view reason);
  Actions become_master(TimePoint now, std::string_view reason);
  Actions become_backup(TimePoint now, std::string_view reason, bool remove);
  Actions on_advert_as_master(TimePoint now, const Advert& advert, const IpAddress& source);
  bool owner() const { return config_.priority == 255; }
  // Link down, or the tracked check failing with weight 0 (give up).
  bool should_fault() const { return !link_up_ || (!healthy_ && config_.track_weight <= 0 && !owner()); }
  Actions update_fault(TimePoint now, std::string_view reason);

  InstanceConfig config_;
  State state_ = State::Initialize;
  bool healthy_ = true;
  bool link_up_ = true;
  bool started_ = false;
  Duration master_adver_interval_;
  std::optional<TimePoint> deadline_;
  TimePoint preempt_allowed_at_{};
  std::uint64_t transitions_ = 0;
  std::string_view last_reason_ = "none";
  std::optional<IpAddress> master_address_;
};

}  // namespace kha::vip
