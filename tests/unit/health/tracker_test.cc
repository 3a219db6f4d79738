// Tracker and Schedule: scripted outcome sequences -> expected transitions and delays.
#include "health/tracker.h"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "health/schedule.h"

namespace kha::health {
namespace {

using std::chrono::milliseconds;

// One scripted step: the outcome fed in, the transition expected (if any), and the
// base delay (no jitter) to the next probe.
struct Step {
  char outcome;  // 'o' probe ok, 'f' probe failure, 'p' passive failure, 'l' kha's own resource error
  std::optional<std::pair<State, State>> transition;
  int delay_ms;
};

struct Case {
  std::string name;
  int rise;
  int fall;
  std::vector<Step> steps;
};

Outcome make(char c) {
  switch (c) {
    case 'o': return Outcome::success(Layer::Connect, "connected");
    case 'f': return Outcome::failure(Layer::Connect, "connect: Connection refused");
    case 'l': return Outcome::failure(Layer::Local, "connect: Too many open files");
    default: return Outcome::failure(Layer::Passive, "upstream reset before first byte");
  }
}

constexpr auto U = State::Unknown;
constexpr auto Up = State::Up;
constexpr auto Dn = State::Down;
// interval 1000, transition_interval 250, down_interval 3000 (distinct on purpose).
constexpr int kI = 1000, kT = 250, kD = 3000;

const std::vector<Case> kCases = {
    {"first success goes up at once", 2, 2, {{'o', {{U, Up}}, kI}, {'o', {}, kI}}},
    {"first failure goes down at once", 2, 2, {{'f', {{U, Dn}}, kD}, {'f', {}, kD}}},
    {"a passive report waits for the first probe", 2, 2, {{'p', {}, 0}, {'f', {{U, Dn}}, kD}}},
    {"fall failures take it down",
     2, 3,
     {{'o', {{U, Up}}, kI}, {'f', {}, kT}, {'f', {}, kT}, {'f', {{Up, Dn}}, kD}}},
    {"a success resets the failure count",
     2, 2,
     {{'o', {{U, Up}}, kI}, {'f', {}, kT}, {'o', {}, kI}, {'f', {}, kT}, {'f', {{Up, Dn}}, kD}}},
    {"rise successes bring it up",
     3, 2,
     {{'f', {{U, Dn}}, kD}, {'o', {}, kT}, {'o', {}, kT}, {'o', {{Dn, Up}}, kI}}},
    {"a failure resets the success count",
     2, 2,
     {{'f', {{U, Dn}}, kD}, {'o', {}, kT}, {'f', {}, kD}, {'o', {}, kT}, {'o', {{Dn, Up}}, kI}}},
    {"passive failures alone never take it down",
     2, 2,
     {{'o', {{U, Up}}, kI}, {'p', {}, kT}, {'p', {}, kT}, {'p', {}, kT}, {'f', {{Up, Dn}}, kD}}},
    {"fall 1: a passive report waits for a probe",
     2, 1,
     {{'o', {{U, Up}}, kI}, {'p', {}, kI}, {'f', {{Up, Dn}}, kD}}},
    {"kha's own resource errors count for nothing",
     2, 2,
     {{'l', {}, 0}, {'o', {{U, Up}}, kI}, {'l', {}, kI}, {'l', {}, kI}, {'l', {}, kI}, {'f', {}, kT}, {'l', {}, kT}}},
    {"passive then probe failure",
     2, 2,
     {{'o', {{U, Up}}, kI}, {'p', {}, kT}, {'f', {{Up, Dn}}, kD}}},
    {"passive failure resets the rise count",
     2, 2,
     {{'f', {{U, Dn}}, kD}, {'o', {}, kT}, {'p', {}, kD}, {'o', {}, kT}, {'o', {{Dn, Up}}, kI}}},
    {"rise 1 fall 1 flips on every change",
     1, 1,
     {{'o', {{U, Up}}, kI}, {'f', {{Up, Dn}}, kD}, {'o', {{Dn, Up}}, kI}, {'o', {}, kI}}},
    {"thresholds below 1 act as 1", 0, -3, {{'o', {{U, Up}}, kI}, {'f', {{Up, Dn}}, kD}}},
};

class TrackerTable : public ::testing::TestWithParam<Case> {};

TEST_P(TrackerTable, ScriptedOutcomesGiveExpectedTransitionsAndDelays) {
  const Case& c = GetParam();
  Tracker tracker(c.rise, c.fall);
  Schedule schedule(Intervals{milliseconds(kI), milliseconds(kT), milliseconds(kD), 0.0}, nullptr);
  EXPECT_EQ(schedule.base_delay(tracker), milliseconds(0)) << "first probe runs at start";
  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    const Step& step = c.steps[i];
    const Outcome outcome = make(step.outcome);
    auto transition = tracker.record(outcome);
    SCOPED_TRACE("step " + std::to_string(i) + " '" + step.outcome + "'");
    ASSERT_EQ(transition.has_value(), step.transition.has_value());
    if (transition) {
      EXPECT_EQ(transition->from, step.transition->first);
      EXPECT_EQ(transition->to, step.transition->second);
      EXPECT_EQ(transition->outcome.reason, outcome.reason);
      EXPECT_EQ(tracker.state(), step.transition->second);
    }
    EXPECT_EQ(schedule.next_delay(tracker), milliseconds(step.delay_ms));
  }
}

INSTANTIATE_TEST_SUITE_P(Sequences, TrackerTable, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           std::string n = param_info.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(Tracker, ReportsProgressTowardTheNextChange) {
  Tracker tracker(3, 2);
  EXPECT_EQ(tracker.state(), State::Unknown);
  EXPECT_FALSE(tracker.counting());
  tracker.record(make('f'));
  EXPECT_EQ(tracker.needed(), 3);
  tracker.record(make('o'));
  EXPECT_TRUE(tracker.counting());
  EXPECT_EQ(tracker.streak(), 1);
}

TEST(Schedule, JitterSpreadsTheDelayByPlusMinusTheFraction) {
  EXPECT_EQ(Schedule::apply_jitter(milliseconds(1000), 0.1, 0.0), milliseconds(900));
  EXPECT_EQ(Schedule::apply_jitter(milliseconds(1000), 0.1, 0.5), milliseconds(1000));
  EXPECT_EQ(Schedule::apply_jitter(milliseconds(1000), 0.1, 1.0), milliseconds(1100));
  EXPECT_EQ(Schedule::apply_jitter(milliseconds(250), 0.5, 0.0), milliseconds(125));
  EXPECT_EQ(Schedule::apply_jitter(milliseconds(1000), 0.1, 7.0), milliseconds(1100));
}

TEST(Schedule, UsesTheInjectedRandomSourceForEveryDelay) {
  std::vector<double> script = {0.0, 1.0, 0.25};
  std::size_t next = 0;
  Schedule schedule(Intervals{milliseconds(1000), milliseconds(200), milliseconds(2000), 0.2},
                    [&] { return script[next++ % script.size()]; });
  Tracker tracker(2, 2);
  tracker.record(make('o'));  // Up, settled: 1000ms base
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(0)) << "after the first probe: anywhere in [0, 1000ms]";
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(1200));
  tracker.record(make('f'));  // counting: 200ms base
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(180));
  EXPECT_EQ(next, 3u);
}

// A backend that stays down: the usual pace for 10 s and 10 probes, then the delay
// doubles up to down_interval_max (the fleet's returning handshakes spread out).
TEST(Schedule, DownProbesBackOffOnlyAfterTenSecondsAndTenProbes) {
  const Intervals iv{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.0, milliseconds(8000)};
  for (std::int64_t n = 0; n < 10; ++n) EXPECT_EQ(Schedule::down_delay(iv, n), milliseconds(1000)) << n;
  EXPECT_EQ(Schedule::down_delay(iv, 10), milliseconds(2000));
  EXPECT_EQ(Schedule::down_delay(iv, 11), milliseconds(4000));
  EXPECT_EQ(Schedule::down_delay(iv, 12), milliseconds(8000));
  EXPECT_EQ(Schedule::down_delay(iv, 1000000000), milliseconds(8000)) << "a week down: still capped, no overflow";
  // A fast down_interval waits its 10 s too (100 probes), not 10 probes.
  const Intervals fast{milliseconds(1000), milliseconds(250), milliseconds(100), 0.0, milliseconds(1000)};
  EXPECT_EQ(Schedule::down_delay(fast, 99), milliseconds(100));
  EXPECT_EQ(Schedule::down_delay(fast, 100), milliseconds(200));
  EXPECT_EQ(Schedule::down_delay(fast, 104), milliseconds(1000));
  // down_interval_max equal to (or below) down_interval: no backoff.
  const Intervals off{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.0, milliseconds(1000)};
  EXPECT_EQ(Schedule::down_delay(off, 50), milliseconds(1000));
  const Intervals below{milliseconds(1000), milliseconds(250), milliseconds(2000), 0.0, milliseconds(1)};
  EXPECT_EQ(Schedule::down_delay(below, 50), milliseconds(2000));
}

TEST(Schedule, ASuccessWhileDownStartsTheBackoffOver) {
  Schedule schedule(Intervals{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.0, milliseconds(8000)},
                    nullptr);
  Tracker tracker(2, 1);
  tracker.record(make('f'));  // Unknown -> Down
  for (int i = 0; i < 10; ++i) EXPECT_EQ(schedule.next_delay(tracker), milliseconds(1000)) << i;
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(2000));
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(4000));
  tracker.record(make('o'));  // one of rise 2: counting toward up
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(250));
  tracker.record(make('f'));  // down again, settled: the usual pace first
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(1000));
}

TEST(Schedule, BackedOffDownProbesAreScatteredOverHalfTheDelay) {
  std::vector<double> script(10, 0.5);  // the first 10 probes: +-10% at its middle
  for (double r : {0.5, 0.0, 1.0}) script.push_back(r);
  std::size_t next = 0;
  Schedule schedule(Intervals{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.1, milliseconds(8000)},
                    [&] { return script.at(next++); });
  Tracker tracker(2, 1);
  tracker.record(make('f'));
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(500)) << "after the first probe: [0, 1s]";
  for (int i = 1; i < 10; ++i) EXPECT_EQ(schedule.next_delay(tracker), milliseconds(1000)) << i;
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(1500));  // 2s, r 0.5: the middle of [1s, 2s]
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(2000));  // 4s, r 0: half
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(8000));  // 8s, r 1: all of it
}

TEST(Schedule, TheDelayAfterTheFirstProbeIsScatteredOverTheWholeInterval) {
  std::vector<double> script = {0.0, 0.5, 0.999, 0.5};
  for (std::size_t i = 0; i + 1 < script.size(); ++i) {
    Schedule schedule(Intervals{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.1},
                      [&, n = std::size_t{0}]() mutable { return n++ == 0 ? script[i] : 0.5; });
    Tracker tracker(2, 2);
    tracker.record(make('o'));
    EXPECT_EQ(schedule.next_delay(tracker), milliseconds(static_cast<long long>(script[i] * 1000 + 0.5))) << i;
    EXPECT_EQ(schedule.next_delay(tracker), milliseconds(1000)) << "then the usual +-10%";
  }
}

TEST(Schedule, ClampsJitterToHalfTheDelay) {
  Schedule schedule(Intervals{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.9},
                    [] { return 0.0; });
  Tracker tracker(2, 2);
  tracker.record(make('o'));
  (void)schedule.next_delay(tracker);  // the first: scattered over [0, 1000ms]
  EXPECT_EQ(schedule.next_delay(tracker), milliseconds(500));
}

TEST(Schedule, DefaultRandomStaysWithinTheJitterBand) {
  Schedule schedule(Intervals{milliseconds(1000), milliseconds(250), milliseconds(1000), 0.1},
                    make_default_random());
  Tracker tracker(2, 2);
  tracker.record(make('o'));
  const auto first = schedule.next_delay(tracker);  // after the first probe: anywhere in [0, 1s]
  ASSERT_LE(first, milliseconds(1000));
  for (int i = 0; i < 200; ++i) {
    const auto d = schedule.next_delay(tracker);
    ASSERT_GE(d, milliseconds(900));
    ASSERT_LE(d, milliseconds(1100));
  }
}

TEST(Intervals, ComeFromTheHealthCheckConfig) {
  config::HealthCheck check;
  check.interval = milliseconds(5000);
  check.transition_interval = milliseconds(100);
  check.down_interval = milliseconds(7000);
  check.jitter = 0.3;
  const Intervals in = Intervals::from(check);
  EXPECT_EQ(in.interval, milliseconds(5000));
  EXPECT_EQ(in.transition_interval, milliseconds(100));
  EXPECT_EQ(in.down_interval, milliseconds(7000));
  EXPECT_DOUBLE_EQ(in.jitter, 0.3);
}

}  // namespace
}  // namespace kha::health
