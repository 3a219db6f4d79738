// Checker against real loopback servers: first round decides at once, rise/fall,
// passive reports, stop() cancels a probe in flight, kind none.
#include "health/checker.h"

#include <gtest/gtest.h>

#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "test_servers.h"

namespace kha::health {
namespace {

using namespace std::chrono_literals;
using testing::HangingListener;
using testing::refused_endpoint;
using testing::TlsServer;
using testing::wait_until;

// Runs an io_context on a thread and records transitions.
class CheckerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (checker_) checker_->stop();
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }

  std::shared_ptr<Checker> start(config::HealthCheck check, asio::ip::tcp::endpoint endpoint,
                                 std::string host = "") {
    checker_ = Checker::create(io_.get_executor(), std::move(check), endpoint, std::move(host),
                               [this](const Transition& t) {
                                 std::lock_guard<std::mutex> lock(mutex_);
                                 transitions_.push_back(t);
                               },
                               [] { return 0.5; });
    checker_->start();
    thread_ = std::thread([this] { io_.run(); });
    return checker_;
  }

  std::vector<Transition> transitions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return transitions_;
  }
  std::size_t count() { return transitions().size(); }

  static config::HealthCheck fast(config::CheckKind kind) {
    config::HealthCheck check;
    check.kind = kind;
    check.interval = 50ms;
    check.transition_interval = 20ms;
    check.down_interval = 50ms;
    check.timeout = 500ms;
    check.jitter = 0;
    return check;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::thread thread_;
  std::shared_ptr<Checker> checker_;
  std::mutex mutex_;
  std::vector<Transition> transitions_;
};

TEST_F(CheckerTest, FirstProbeOfADeadBackendMarksItDownAtOnce) {
  auto check = fast(config::CheckKind::Tcp);
  check.fall = 5;
  auto checker = start(check, refused_endpoint());
  ASSERT_TRUE(wait_until([&] { return count() >= 1; }));
  const Transition t = transitions()[0];
  EXPECT_EQ(t.from, State::Unknown);
  EXPECT_EQ(t.to, State::Down);
  EXPECT_EQ(t.outcome.layer, Layer::Connect);
  EXPECT_EQ(checker->state(), State::Down);
  EXPECT_EQ(checker->last_outcome().reason, "connect: Connection refused");
}

TEST_F(CheckerTest, BackendGoesDownAfterFallFailuresAndUpAfterRise) {
  auto server = std::make_unique<TlsServer>(TlsServer::Options{TlsServer::Mode::Https, 200, "ok"});
  const auto endpoint = server->endpoint();
  auto checker = start(fast(config::CheckKind::Https), endpoint, "apiserver.test");
  ASSERT_TRUE(wait_until([&] { return checker->state() == State::Up; }));
  server->set_status(500);  // /readyz turns red
  ASSERT_TRUE(wait_until([&] { return checker->state() == State::Down; }));
  server->set_status(200);
  ASSERT_TRUE(wait_until([&] { return checker->state() == State::Up; }));
  const auto all = transitions();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].to, State::Up);
  EXPECT_EQ(all[1].from, State::Up);
  EXPECT_EQ(all[1].to, State::Down);
  EXPECT_EQ(all[1].outcome.layer, Layer::Http);
  EXPECT_EQ(all[1].outcome.http_status, 500);
  EXPECT_EQ(all[2].to, State::Up);
}

// A passive report never takes a backend down alone (issue #14): it pulls the next
// probe in, and the probe decides; here the backend still accepts, so it stays up.
TEST_F(CheckerTest, PassiveFailurePullsAProbeThatDecides) {
  asio::io_context listener_io;
  HangingListener listener(listener_io);  // accepts TCP: tcp probes pass
  auto check = fast(config::CheckKind::Tcp);
  check.interval = 1h;       // no scheduled probe could explain what follows
  check.down_interval = 1h;
  check.transition_interval = 50ms;
  check.rise = 1;
  check.fall = 1;
  auto checker = start(check, listener.endpoint());
  ASSERT_TRUE(wait_until([&] { return checker->state() == State::Up; }));
  checker->report_passive_failure(Outcome::failure(Layer::Connect, "reset before first byte"));
  ASSERT_TRUE(wait_until([&] { return checker->last_outcome().layer == Layer::Passive; }));
  EXPECT_EQ(checker->state(), State::Up) << "a passive report alone took the backend down";
  ASSERT_TRUE(wait_until([&] { return checker->last_outcome().layer == Layer::Connect; }))
      << "no probe pulled in by the passive report (interval is 1h)";
  EXPECT_TRUE(checker->last_outcome().ok);
  EXPECT_EQ(checker->state(), State::Up);
  EXPECT_EQ(count(), 1) << "only the first Unknown -> Up";
}

TEST_F(CheckerTest, StopCancelsAProbeInFlight) {
  TlsServer server({TlsServer::Mode::Silent});  // accepts, never answers the ClientHello
  auto check = fast(config::CheckKind::Tls);
  check.timeout = 1h;  // only stop() can end this probe
  auto checker = start(check, server.endpoint());
  guard_.reset();  // io_.run() returns once the checker's loop has ended
  ASSERT_TRUE(wait_until([&] { return server.accepted() == 1; })) << "probe in the handshake";
  checker->stop();
  auto done = std::async(std::launch::async, [this] { thread_.join(); });
  EXPECT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(checker->state(), State::Unknown);
  EXPECT_TRUE(transitions().empty()) << "no callback after stop()";
}

TEST_F(CheckerTest, KindNoneIsAlwaysUp) {
  auto checker = start(fast(config::CheckKind::None), refused_endpoint());
  EXPECT_EQ(checker->state(), State::Up);
  checker->report_passive_failure(Outcome::failure(Layer::Connect, "refused"));
  ASSERT_TRUE(wait_until([&] { return checker->last_outcome().layer == Layer::Passive; }));
  EXPECT_EQ(checker->state(), State::Up);
  EXPECT_TRUE(transitions().empty());
}

TEST_F(CheckerTest, StateIsReadableFromManyThreads) {
  auto checker = start(fast(config::CheckKind::Tcp), refused_endpoint());
  std::vector<std::thread> readers;
  std::atomic<int> downs{0};
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      for (int n = 0; n < 20000; ++n) {
        if (checker->state() == State::Down) ++downs;
        if (n % 1000 == 0) (void)checker->last_outcome();
      }
    });
  }
  for (auto& r : readers) r.join();
  ASSERT_TRUE(wait_until([&] { return checker->state() == State::Down; }));
}

TEST(LogTransition, OneLineWithBackendStatesKindLayerReasonAndLatency) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  logger->set_pattern("%l %v");
  spdlog::set_default_logger(logger);
  Transition t{State::Up, State::Down,
               Outcome::failure(Layer::Http, "HTTP status 500, expected 200", 2150us, 500)};
  log_transition("api", "cp1", config::CheckKind::Https, t);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(out.str(),
            "warning backend_down frontend=api backend=cp1 from=up to=down check=https "
            "layer=http reason=\"HTTP status 500, expected 200\" latency=2.1ms\n");
}

}  // namespace
}  // namespace kha::health
