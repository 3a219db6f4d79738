// CheckConnection: the connection one checker probes its backend over, and what a probe
// costs the backend (issue 16). https keeps one TLS connection alive and sends a GET per
// probe; a connection that must be opened again (tls, or https after a failure) resumes
// the last TLS session, so a full handshake is rare. At least every
// fresh_connect_interval (jittered) the connection is opened anew, so that a backend
// that keeps old connections alive but accepts no new ones is still caught
// (haproxy#1613). tcp, and fresh_connect_interval 0, open a new connection per probe.
//
// Threads: one coroutine at a time (the checker's strand). The check must outlive it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "config/schema.h"
#include "health/outcome.h"
#include "health/schedule.h"
#include "http/client.h"
#include "tls/openssl_ptr.h"

namespace kha::health {

class CheckConnection {
 public:
  // host_for_sni: as probe() (probe.h); random: uniform [0, 1) for the fresh-connect
  // jitter, null for none.
  CheckConnection(const config::HealthCheck& check, asio::ip::tcp::endpoint endpoint,
                  const std::string& host_for_sni, Schedule::Random random);
  CheckConnection(const CheckConnection&) = delete;
  CheckConnection& operator=(const CheckConnection&) = delete;

  // One probe, bounded by check.timeout (a kept-alive connection that had ended before
  // the request is replaced once within the probe: that is no evidence). tls: the
  // context for tls/https, null for tcp. Never throws; cancelled from outside, it
  // returns a failure and the connection is closed.
  asio::awaitable<Outcome> probe(asio::ssl::context* tls);

  // A kept-alive connection is open between probes.
  bool idle() const { return client_ != nullptr; }

  // Waits while the idle connection is quiet. Returns true when it ended or sent what
  // nobody asked for (FIN, RST, a TLS alert): it is closed and the next probe should
  // come soon. Returns false when cancelled (the connection stays). Requires idle().
  asio::awaitable<bool> watch_idle();

  void close();

 private:
  using Clock = std::chrono::steady_clock;

  asio::awaitable<Outcome> attempt(bool reuse, Clock::time_point start);
  asio::awaitable<Outcome> run(bool opened, Clock::time_point start);
  asio::awaitable<Outcome> exchange(Clock::time_point start, bool* reusable);
  void open(asio::any_io_executor executor, asio::ssl::context* tls);
  void remember_session();
  // fresh_connect_interval 0: every probe on a new connection, full handshake, as before.
  bool reuse_allowed() const { return check_.fresh_connect_interval.count() > 0; }

  const config::HealthCheck& check_;
  const asio::ip::tcp::endpoint endpoint_;
  const std::string name_;         // SNI and verified name
  const std::string host_header_;  // the HTTP Host
  Schedule::Random random_;
  asio::ssl::context* tls_ = nullptr;     // the checker's, for the probe under way
  bool keep_ = false;                     // the probe under way leaves the connection open
  std::unique_ptr<http::Client> client_;  // null between probes unless kept alive
  tls::SslSessionPtr session_;            // to resume; null until a handshake gave one
  Clock::time_point session_born_{};
  Clock::time_point fresh_due_{};  // the next probe opens a new connection from then on
};

}  // namespace kha::health
