// VRRPv3 state machine: every transition with a fake clock (a time_point we move by hand),
// plus a two-router simulation that checks that the dust settles on exactly one master.
#include "vip/instance.h"

#include <gtest/gtest.h>

namespace kha::vip {
namespace {

using namespace std::chrono_literals;
using TP = Instance::TimePoint;
using A = Action;
using K = ActionKind;

const TP t0 = TP{} + 1000s;
IpAddress ip(const char* text) { return *parse_ip(text); }

InstanceConfig cfg(std::uint8_t priority, const char* primary = "10.99.0.1") {
  InstanceConfig c;
  c.vrid = 51;
  c.priority = priority;
  c.primary = ip(primary);
  return c;
}
Advert adv(std::uint8_t priority, std::uint16_t cs = 100) { return Advert{51, priority, cs, {ip("10.99.0.100")}}; }
const Actions kBecomeMaster100{{K::AddAddresses}, {K::SendAdvert, 100}, {K::Announce}};

TEST(InstanceTest, TimersFollowTheRfcWorkedExample) {
  Instance i(cfg(100));
  i.start(t0);
  EXPECT_EQ(i.skew_time(), 609375us);              // 156/256 s
  EXPECT_EQ(i.master_down_interval(), 3609375us);  // measured 3.610 s with keepalived
  Instance hi(cfg(150));
  hi.start(t0);
  EXPECT_EQ(hi.master_down_interval(), 3414062us);  // 3 + 106/256 s
}

TEST(InstanceTest, BackupBecomesMasterWhenMasterDownTimerFires) {
  Instance i(cfg(100));
  EXPECT_EQ(i.state(), State::Initialize);
  EXPECT_FALSE(i.deadline());
  EXPECT_TRUE(i.start(t0).empty());
  EXPECT_EQ(i.state(), State::Backup);
  ASSERT_TRUE(i.deadline());
  EXPECT_EQ(*i.deadline(), t0 + 3609375us);
  EXPECT_TRUE(i.on_timer(t0 + 3s).empty());  // early call does nothing
  EXPECT_EQ(i.state(), State::Backup);
  EXPECT_EQ(i.on_timer(*i.deadline()), kBecomeMaster100);
  EXPECT_EQ(i.state(), State::Master);
  EXPECT_EQ(i.last_reason(), "master_down_timer");
  EXPECT_EQ(i.transitions(), 2u);  // initialize->backup->master
  EXPECT_EQ(i.master_address(), ip("10.99.0.1"));
}

TEST(InstanceTest, MasterAdvertisesEveryInterval) {
  Instance i(cfg(100));
  i.start(t0);
  TP now = *i.deadline();
  i.on_timer(now);
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(*i.deadline(), now + 1s);
    now = *i.deadline();
    EXPECT_EQ(i.on_timer(now), (Actions{{K::SendAdvert, 100}}));
  }
}

TEST(InstanceTest, AddressOwnerIsMasterAtOnce) {
  Instance i(cfg(255));
  EXPECT_EQ(i.start(t0), (Actions{{K::AddAddresses}, {K::SendAdvert, 255}, {K::Announce}}));
  EXPECT_EQ(i.state(), State::Master);
  EXPECT_EQ(i.last_reason(), "address_owner");
  // The owner keeps its own address when it stops.
  EXPECT_EQ(i.shutdown(t0 + 1s), (Actions{{K::SendAdvert, 0}}));
  // And is never lowered by tracking.
  Instance o(cfg(255));
  o.start(t0);
  EXPECT_TRUE(o.set_tracked_healthy(t0, false).empty());
  EXPECT_EQ(o.priority(), 255);
}

TEST(InstanceTest, BackupResetsTimerOnHigherOrEqualAdvertAndLearnsInterval) {
  Instance i(cfg(100));
  i.start(t0);
  i.on_advert(t0 + 3s, adv(150, 200), ip("10.99.0.2"));
  EXPECT_EQ(i.master_adver_interval(), 2s);
  EXPECT_EQ(*i.deadline(), t0 + 3s + 6s + 1218750us);  // 3*2 s + 156*2/256 s
  EXPECT_EQ(i.master_address(), ip("10.99.0.2"));
  i.on_advert(t0 + 4s, adv(100), ip("10.99.0.2"));
  EXPECT_EQ(*i.deadline(), t0 + 4s + 3609375us);
  EXPECT_EQ(i.state(), State::Backup);
}

TEST(InstanceTest, BackupTakesOverSkewTimeAfterPriorityZero) {
  Instance i(cfg(100));
  i.start(t0);
  i.on_advert(t0 + 1s, adv(150), ip("10.99.0.2"));
  EXPECT_TRUE(i.on_advert(t0 + 2s, adv(0), ip("10.99.0.2")).empty());
  EXPECT_EQ(*i.deadline(), t0 + 2s + 609375us);
  EXPECT_EQ(i.on_timer(*i.deadline()), kBecomeMaster100);
}

TEST(InstanceTest, BackupPreemptsLowerPriorityMasterAfterSkew) {
  Instance i(cfg(150));
  i.start(t0);
  i.on_advert(t0 + 1s, adv(100), ip("10.99.0.2"));
  EXPECT_EQ(*i.deadline(), t0 + 1s + 414062us);  // 106/256 s
  // Later lower adverts do not push the takeover back.
  i.on_advert(t0 + 1100ms, adv(100), ip("10.99.0.2"));
  EXPECT_EQ(*i.deadline(), t0 + 1s + 414062us);
  i.on_timer(*i.deadline());
  EXPECT_EQ(i.state(), State::Master);
}

TEST(InstanceTest, NoPreemptionWhenDisabled) {
  InstanceConfig c = cfg(150);
  c.preempt = false;
  Instance i(c);
  i.start(t0);
  for (int n = 1; n <= 10; ++n) i.on_advert(t0 + n * 1s, adv(100), ip("10.99.0.2"));
  EXPECT_EQ(*i.deadline(), t0 + 10s + 3414062us);
  EXPECT_EQ(i.state(), State::Backup);
}

TEST(InstanceTest, PreemptDelayHoldsBackPreemptionUntilItEnds) {
  InstanceConfig c = cfg(150);
  c.preempt_delay = 5s;
  Instance i(c);
  i.start(t0);
  for (int n = 1; n <= 4; ++n) {
    i.on_advert(t0 + n * 1s, adv(100), ip("10.99.0.2"));
    EXPECT_EQ(*i.deadline(), t0 + n * 1s + 3414062us) << n;
  }
  i.on_advert(t0 + 5s, adv(100), ip("10.99.0.2"));
  EXPECT_EQ(*i.deadline(), t0 + 5s + 414062us);
}

TEST(InstanceTest, MasterStepsDownForHigherPriority) {
  Instance i(cfg(100));
  i.start(t0);
  i.on_timer(*i.deadline());
  TP now = t0 + 5s;
  EXPECT_EQ(i.on_advert(now, adv(150), ip("10.99.0.2")), (Actions{{K::RemoveAddresses}}));
  EXPECT_EQ(i.state(), State::Backup);
  EXPECT_EQ(i.last_reason(), "higher_priority_advert");
  EXPECT_EQ(*i.deadline(), now + 3609375us);
  EXPECT_EQ(i.master_address(), ip("10.99.0.2"));
}

TEST(InstanceTest, EqualPriorityHigherAddressWins) {
  Instance low(cfg(100, "10.99.0.1"));
  low.start(t0);
  low.on_timer(*low.deadline());
  EXPECT_EQ(low.on_advert(t0 + 5s, adv(100), ip("10.99.0.2")), (Actions{{K::RemoveAddresses}}));
  EXPECT_EQ(low.last_reason(), "equal_priority_higher_address");
  Instance high(cfg(100, "10.99.0.2"));
  high.start(t0);
  high.on_timer(*high.deadline());
  EXPECT_EQ(high.on_advert(t0 + 5s, adv(100), ip("10.99.0.1")), (Actions{{K::SendAdvert, 100}, {K::Announce}}));
  EXPECT_EQ(high.state(), State::Master);
}

TEST(InstanceTest, MasterAnswersLowerAndZeroPriorityAtOnce) {
  Instance i(cfg(150));
  i.start(t0);
  i.on_timer(*i.deadline());
  TP now = t0 + 4100ms;
  EXPECT_EQ(i.on_advert(now, adv(100), ip("10.99.0.2")), (Actions{{K::SendAdvert, 150}, {K::Announce}}));
  EXPECT_EQ(*i.deadline(), now + 1s);
  EXPECT_EQ(i.on_advert(now + 10ms, adv(0), ip("10.99.0.2")), (Actions{{K::SendAdvert, 150}}));
  EXPECT_EQ(i.state(), State::Master);
}

TEST(InstanceTest, ShutdownSendsPriorityZeroAndRemovesAddresses) {
  Instance i(cfg(100));
  i.start(t0);
  i.on_timer(*i.deadline());
  EXPECT_EQ(i.shutdown(t0 + 5s), (Actions{{K::SendAdvert, 0}, {K::RemoveAddresses}}));
  EXPECT_EQ(i.state(), State::Initialize);
  EXPECT_FALSE(i.deadline());
  Instance b(cfg(100));
  b.start(t0);
  EXPECT_TRUE(b.shutdown(t0 + 1s).empty());
  EXPECT_TRUE(b.on_timer(t0 + 10s).empty());
  EXPECT_TRUE(b.on_advert(t0 + 10s, adv(150), ip("10.99.0.2")).empty());
}

TEST(InstanceTest, TrackingWeightLowersPriorityAndTellsBackupsAtOnce) {
  InstanceConfig c = cfg(150);
  c.track_weight = 60;
  Instance i(c);
  i.start(t0);
  i.on_timer(*i.deadline());
  TP now = t0 + 4500ms;
  EXPECT_EQ(i.set_tracked_healthy(now, false), (Actions{{K::SendAdvert, 90}}));
  EXPECT_EQ(i.priority(), 90);
  EXPECT_EQ(*i.deadline(), now + 1s);
  EXPECT_TRUE(i.set_tracked_healthy(now, false).empty());  // no change, no action
  EXPECT_EQ(i.on_advert(now + 600ms, adv(100), ip("10.99.0.2")), (Actions{{K::RemoveAddresses}}));
  EXPECT_EQ(i.state(), State::Backup);
  EXPECT_EQ(i.set_tracked_healthy(now + 2s, true), Actions{});
  EXPECT_EQ(i.priority(), 150);
  // Healthy again: the next lower advert starts the preemption.
  i.on_advert(now + 3s, adv(100), ip("10.99.0.2"));
  EXPECT_EQ(*i.deadline(), now + 3s + 414062us);
}

TEST(InstanceTest, TrackingWeightNeverReachesZero) {
  InstanceConfig c = cfg(50);
  c.track_weight = 200;
  Instance i(c);
  i.set_tracked_healthy(t0, false);
  EXPECT_EQ(i.priority(), 1);
}

TEST(InstanceTest, TrackingGiveUpEntersFaultAndRecovers) {
  InstanceConfig c = cfg(150);
  c.track_weight = 0;
  Instance i(c);
  i.start(t0);
  i.on_timer(*i.deadline());
  EXPECT_EQ(i.set_tracked_healthy(t0 + 5s, false), (Actions{{K::SendAdvert, 0}, {K::RemoveAddresses}}));
  EXPECT_EQ(i.state(), State::Fault);
  EXPECT_FALSE(i.deadline());
  EXPECT_TRUE(i.on_advert(t0 + 6s, adv(100), ip("10.99.0.2")).empty());
  EXPECT_TRUE(i.set_tracked_healthy(t0 + 7s, true).empty());
  EXPECT_EQ(i.state(), State::Backup);
  EXPECT_EQ(i.last_reason(), "tracked_check_recovered");
  EXPECT_EQ(*i.deadline(), t0 + 7s + 3414062us);
  // Starting while the check fails goes straight to Fault.
  Instance f(c);
  f.set_tracked_healthy(t0, false);
  f.start(t0);
  EXPECT_EQ(f.state(), State::Fault);
}

TEST(InstanceTest, LinkDownFaultsAndLinkUpReturnsToBackup) {
  Instance i(cfg(150));
  i.start(t0);
  i.on_timer(*i.deadline());
  EXPECT_EQ(i.set_link_up(t0 + 5s, false), (Actions{{K::SendAdvert, 0}, {K::RemoveAddresses}}));
  EXPECT_EQ(i.state(), State::Fault);
  EXPECT_EQ(i.last_reason(), "link_down");
  EXPECT_FALSE(i.deadline());
  EXPECT_TRUE(i.set_link_up(t0 + 5s, false).empty());
  EXPECT_TRUE(i.set_link_up(t0 + 8s, true).empty());
  EXPECT_EQ(i.state(), State::Backup);
  EXPECT_EQ(i.last_reason(), "link_up");
  EXPECT_EQ(*i.deadline(), t0 + 8s + 3414062us);
}

TEST(InstanceTest, FaultLastsWhileEitherCauseRemains) {
  InstanceConfig c = cfg(150);
  c.track_weight = 0;
  Instance i(c);
  i.start(t0);
  i.set_link_up(t0 + 1s, false);
  i.set_tracked_healthy(t0 + 2s, false);
  i.set_link_up(t0 + 3s, true);
  EXPECT_EQ(i.state(), State::Fault);  // the proxy still fails
  i.set_tracked_healthy(t0 + 4s, true);
  EXPECT_EQ(i.state(), State::Backup);
  // Starting with the link down: Fault at once; the owner comes back as master.
  Instance o(cfg(255));
  o.set_link_up(t0, false);
  o.start(t0);
  EXPECT_EQ(o.state(), State::Fault);
  EXPECT_EQ(o.set_link_up(t0 + 1s, true), (Actions{{K::AddAddresses}, {K::SendAdvert, 255}, {K::Announce}}));
}

// Two routers on one link with instant delivery; returns the final states after `run`.
struct Link {
  Instance a, b;
  IpAddress ip_a, ip_b;
  bool a_alive = true, b_alive = true;
  TP settle_after = TP::max();  // from then on, never two masters
  void deliver(Instance& to, bool to_alive, const Actions& actions, const IpAddress& from, TP now, std::uint8_t) {
    for (const auto& act : actions)
      if (act.kind == K::SendAdvert && to_alive) {
        Actions back = to.on_advert(now, adv(act.priority), from);
        Instance& other = (&to == &a) ? b : a;
        bool other_alive = (&to == &a) ? b_alive : a_alive;
        deliver(other, other_alive, back, (&to == &a) ? ip_a : ip_b, now, 0);
      }
  }
  void run(TP from, TP to) {
    for (TP now = from; now <= to; now += 10ms) {
      // Both timers of one tick fire before either advert arrives, as on a real link.
      Actions fa, fb;
      if (a_alive && a.deadline() && now >= *a.deadline()) fa = a.on_timer(now);
      if (b_alive && b.deadline() && now >= *b.deadline()) fb = b.on_timer(now);
      deliver(b, b_alive, fa, ip_a, now, 0);
      deliver(a, a_alive, fb, ip_b, now, 0);
      EXPECT_FALSE(now > settle_after && a_alive && b_alive && a.state() == State::Master && b.state() == State::Master);
    }
  }
};

TEST(InstanceSimulation, HigherPriorityWinsAndOnlyOneMasterRemains) {
  Link l{Instance(cfg(100, "10.99.0.2")), Instance(cfg(150, "10.99.0.1")), ip("10.99.0.2"), ip("10.99.0.1")};
  l.a.start(t0);
  l.b.start(t0 + 2s);  // the better router starts late: it preempts
  l.settle_after = t0 + 7s;
  l.run(t0, t0 + 20s);
  EXPECT_EQ(l.a.state(), State::Backup);
  EXPECT_EQ(l.b.state(), State::Master);
  // The master hangs: the backup takes over; it comes back: preemption restores it.
  l.b_alive = false;
  l.run(t0 + 20s, t0 + 25s);
  EXPECT_EQ(l.a.state(), State::Master);
  l.b_alive = true;
  l.run(t0 + 25s, t0 + 30s);
  EXPECT_EQ(l.a.state(), State::Backup);
  EXPECT_EQ(l.b.state(), State::Master);
}

TEST(InstanceSimulation, EqualPrioritiesStartingTogetherSettleOnHigherAddress) {
  Link l{Instance(cfg(100, "10.99.0.1")), Instance(cfg(100, "10.99.0.2")), ip("10.99.0.1"), ip("10.99.0.2")};
  l.a.start(t0);
  l.b.start(t0);  // both time out at the same instant and both become master once
  l.settle_after = t0 + 3700ms;
  l.run(t0, t0 + 10s);
  EXPECT_EQ(l.a.state(), State::Backup);
  EXPECT_EQ(l.b.state(), State::Master);
}

}  // namespace
}  // namespace kha::vip
