// The tracking probe against a loopback server: 2xx passes, other statuses and refused
// connections fail with the reason the speaker logs; TrackChecker's coroutine applies
// rise/fall (health::Tracker's rules, tested in tests/unit/health/tracker_test.cc).
#include <gtest/gtest.h>

#include <asio.hpp>
#include <thread>
#include <vector>

#include "vip/track_checker.h"

namespace kha::vip {
namespace {

// Answers one request with `reply`, then closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        thread_([this, reply = std::move(reply)] {
          asio::error_code ec;
          asio::ip::tcp::socket s(io_);
          acceptor_.accept(s, ec);
          if (ec) return;
          std::string request;
          asio::read_until(s, asio::dynamic_buffer(request), "\r\n\r\n", ec);
          request_ = request;
          asio::write(s, asio::buffer(reply), ec);
        }) {}
  ~OneShotServer() {
    asio::error_code ec;
    if (thread_.joinable()) thread_.join();
    acceptor_.close(ec);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::string request_;
  std::thread thread_;
};

// Runs the probe coroutine to its end on an io_context of its own.
bool probe(const TrackConfig& config, std::string* why) {
  asio::io_context io;
  bool ok = false;
  asio::co_spawn(io, probe_http(config, why), [&](std::exception_ptr e, bool result) {
    EXPECT_FALSE(e);
    ok = result;
  });
  io.run();
  return ok;
}

// A loopback port that was bound a moment ago and is closed now: connects are refused.
std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

TrackConfig config_for(std::uint16_t port) {
  TrackConfig c;
  EXPECT_EQ(parse_track_url("http://127.0.0.1:" + std::to_string(port) + "/readyz", &c), "");
  c.timeout = std::chrono::seconds(5);
  return c;
}

TEST(ProbeHttpTest, TwoHundredsPass) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  std::string why = "stale";
  EXPECT_TRUE(probe(config_for(server.port()), &why));
  EXPECT_EQ(why, "");
  const std::string request = server.request();
  EXPECT_EQ(request.rfind("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:", 0), 0u) << request;
  EXPECT_NE(request.find("User-Agent: kha-vip\r\n"), std::string::npos) << request;
}

TEST(ProbeHttpTest, OtherStatusesFailWithTheStatus) {
  OneShotServer server("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  std::string why;
  EXPECT_FALSE(probe(config_for(server.port()), &why));
  EXPECT_EQ(why, "status 503");
}

TEST(ProbeHttpTest, WhatIsNotHttpFails) {
  OneShotServer server("SSH-2.0-OpenSSH_9.2\r\n");
  std::string why;
  EXPECT_FALSE(probe(config_for(server.port()), &why));
  EXPECT_EQ(why, "bad status line: SSH-2.0-OpenSSH_9.2");
}

TEST(ProbeHttpTest, RefusedConnectFails) {
  const std::uint16_t port = closed_port();
  std::string why;
  EXPECT_FALSE(probe(config_for(port), &why));
  EXPECT_EQ(why, "Connection refused");
}

// Answers the n-th connection with replies[n] (the last one repeats), on the test's io_context.
asio::awaitable<void> serve(asio::ip::tcp::acceptor& acceptor, std::vector<std::string> replies, int* served) {
  for (std::size_t i = 0;; ++i) {
    asio::ip::tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    std::string request;
    co_await asio::async_read_until(s, asio::dynamic_buffer(request), "\r\n\r\n", asio::use_awaitable);
    ++*served;  // before the reply, so the probe that reads it sees the count
    const std::string& reply = replies[std::min(i, replies.size() - 1)];
    co_await asio::async_write(s, asio::buffer(reply), asio::use_awaitable);
  }
}

TEST(TrackCheckerTest, FallFailuresInARowFailItAndRisePassesRecoverIt) {
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const std::string bad = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  int served = 0;
  // First probe passes; then one failure (not enough), a pass, two failures (fall 2), two passes (rise 2).
  asio::co_spawn(io, serve(acceptor, {ok, bad, ok, bad, bad, ok, ok}, &served), asio::detached);
  TrackConfig config = config_for(acceptor.local_endpoint().port());
  config.interval = std::chrono::milliseconds(5);
  TrackChecker checker(config);
  asio::co_spawn(io, checker.first_probe(), [&](std::exception_ptr e) {
    EXPECT_FALSE(e);
    io.stop();  // the server goes on waiting
  });
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(served, 1);
  EXPECT_TRUE(checker.healthy());
  io.restart();
  std::vector<std::pair<bool, int>> changes;  // (healthy, probes answered by then)
  asio::co_spawn(io, checker.run([&](bool healthy) {
    changes.emplace_back(healthy, served);
    if (!healthy) {
      EXPECT_EQ(checker.last_failure(), "status 503");
    }
    if (changes.size() == 2) io.stop();
  }), [](std::exception_ptr) {});
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], std::make_pair(false, 5));
  EXPECT_EQ(changes[1], std::make_pair(true, 7));
  EXPECT_TRUE(checker.healthy());
}

TEST(TrackCheckerTest, AFailingFirstProbeStartsItFailing) {
  const std::uint16_t port = closed_port();
  asio::io_context io;
  TrackChecker checker(config_for(port));
  asio::co_spawn(io, checker.first_probe(), [](std::exception_ptr e) { EXPECT_FALSE(e); });
  io.run();
  EXPECT_FALSE(checker.healthy());
  EXPECT_EQ(checker.last_failure(), "Connection refused");
}

}  // namespace
}  // namespace kha::vip
