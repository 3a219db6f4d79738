// Real loopback servers for probe and checker tests: a TLS test PKI generated with
// the openssl CLI into a temp dir, a plain acceptor that hangs (listens, never
// accepts), a refused port, and a TLS/HTTPS server with scripted answers.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "config/schema.h"
#include "health/outcome.h"

namespace kha::health::testing {

// A CA, a server certificate for "apiserver.test" and 127.0.0.1 signed by it, a
// client certificate signed by it, and an unrelated second CA. Generated once per
// test binary; files removed at exit.
struct TestPki {
  std::filesystem::path dir;
  std::string ca_cert, server_cert, server_key, client_cert, client_key, other_ca_cert;
};
const TestPki& test_pki();

// A port on 127.0.0.1 where nothing listens (bound then closed).
asio::ip::tcp::endpoint refused_endpoint();

// Listens on 127.0.0.1:0 and never accepts: the kernel completes TCP handshakes,
// nothing is ever answered, as a hung apiserver.
class HangingListener {
 public:
  explicit HangingListener(asio::io_context& io);
  asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::ip::tcp::acceptor acceptor_;
};

// A TLS server on 127.0.0.1:0 running on its own thread. Each connection: TLS
// handshake, then per `mode` nothing more (Tls), or read one HTTP request and
// answer `status` with `body` (Https), or read the request and never answer (Hang),
// or answer a non-HTTP line (Garbage), or accept and never start TLS (Silent).
class TlsServer {
 public:
  enum class Mode { Tls, Https, Hang, Garbage, Silent };
  struct Options {
    Mode mode = Mode::Https;
    int status = 200;
    std::string body = "ok";
    bool require_client_cert = false;
  };

  explicit TlsServer(Options options);
  ~TlsServer();
  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  void set_status(int status);
  std::string last_request() const;  // the last HTTP request head received
  int accepted() const { return accepted_.load(); }  // connections accepted so far

 private:
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);
  asio::awaitable<void> accept_loop();

  Options options_;
  asio::ssl::context ssl_{asio::ssl::context::tls_server};  // outlives the streams in io_
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint endpoint_;
  std::atomic<int> status_;
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::string last_request_;
  std::thread thread_;
};

// Runs one probe on `io` to completion (at most 30 s) and returns its outcome.
Outcome run_probe(asio::io_context& io, const config::HealthCheck& check,
                  asio::ip::tcp::endpoint endpoint, const std::string& host);

// Polls `condition` until it holds or `deadline` passes; returns its last value.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace kha::health::testing
