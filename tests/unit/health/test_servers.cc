#include "test_servers.h"

// g++ 12 at -O2 misreports Asio's awaitable frame allocator as mismatched
// new/delete in some coroutines (GCC bug 104342 family); the frames are correct.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include <asio/experimental/as_tuple.hpp>

#include "health/probe.h"

namespace kha::health::testing {
namespace {

using asio::experimental::as_tuple;
using asio::ip::tcp;

void sh(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("test PKI: command failed: " + command);
  }
}

struct PkiHolder {
  TestPki pki;
  PkiHolder() {
    char tmpl[] = "/tmp/kha-health-pki-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    pki.dir = tmpl;
    const std::string d = pki.dir.string();
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto ca = [&](const std::string& name) {
      sh("openssl req -x509 " + ec + " -days 2 -subj /CN=" + name + " -keyout " + d + "/" + name +
         ".key -out " + d + "/" + name + ".crt");
    };
    auto leaf = [&](const std::string& name, const std::string& cn, const std::string& ext) {
      std::FILE* f = std::fopen((d + "/" + name + ".ext").c_str(), "w");
      std::fputs(ext.c_str(), f);
      std::fclose(f);
      sh("openssl req " + ec + " -subj /CN=" + cn + " -keyout " + d + "/" + name + ".key -out " +
         d + "/" + name + ".csr");
      sh("openssl x509 -req -days 2 -in " + d + "/" + name + ".csr -CA " + d + "/ca.crt -CAkey " +
         d + "/ca.key -CAcreateserial -extfile " + d + "/" + name + ".ext -out " + d + "/" + name +
         ".crt");
    };
    ca("ca");
    ca("otherca");
    leaf("server", "apiserver.test", "subjectAltName=DNS:apiserver.test,IP:127.0.0.1\n");
    leaf("client", "kha-probe", "extendedKeyUsage=clientAuth\n");
    pki.ca_cert = d + "/ca.crt";
    pki.other_ca_cert = d + "/otherca.crt";
    pki.server_cert = d + "/server.crt";
    pki.server_key = d + "/server.key";
    pki.client_cert = d + "/client.crt";
    pki.client_key = d + "/client.key";
  }
  ~PkiHolder() {
    std::error_code ec;
    std::filesystem::remove_all(pki.dir, ec);
  }
};

}  // namespace

const TestPki& test_pki() {
  static PkiHolder holder;
  return holder.pki;
}

tcp::endpoint refused_endpoint() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto endpoint = acceptor.local_endpoint();
  acceptor.close();
  return endpoint;
}

HangingListener::HangingListener(asio::io_context& io)
    : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

TlsServer::TlsServer(Options options)
    : options_(std::move(options)),
      acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      endpoint_(acceptor_.local_endpoint()),
      status_(options_.status) {
  const TestPki& pki = test_pki();
  ssl_.use_certificate_chain_file(pki.server_cert);
  ssl_.use_private_key_file(pki.server_key, asio::ssl::context::pem);
  if (options_.require_client_cert) {
    ssl_.load_verify_file(pki.ca_cert);
    ssl_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

TlsServer::~TlsServer() {
  io_.stop();
  thread_.join();
}

void TlsServer::set_status(int status) { status_.store(status); }

std::string TlsServer::last_request() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_request_;
}

asio::awaitable<void> TlsServer::accept_loop() {
  while (true) {
    auto [ec, socket] = co_await acceptor_.async_accept(as_tuple(asio::use_awaitable));
    if (ec) co_return;
    ++accepted_;
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> TlsServer::serve(tcp::socket socket) {
  if (options_.mode == Mode::Silent) {
    asio::steady_timer forever(io_, std::chrono::hours(1));
    co_await forever.async_wait(as_tuple(asio::use_awaitable));
    co_return;
  }
  asio::ssl::stream<tcp::socket> stream(std::move(socket), ssl_);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                               as_tuple(asio::use_awaitable));
  if (hec || options_.mode == Mode::Tls) co_return;
  std::string request;
  auto [rec, n] = co_await asio::async_read_until(stream, asio::dynamic_buffer(request), "\r\n\r\n",
                                                  as_tuple(asio::use_awaitable));
  if (rec) co_return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_request_ = request.substr(0, n);
  }
  if (options_.mode == Mode::Hang) {
    asio::steady_timer forever(io_, std::chrono::hours(1));
    co_await forever.async_wait(as_tuple(asio::use_awaitable));
    co_return;
  }
  std::string reply;
  if (options_.mode == Mode::Garbage) {
    reply = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
  } else {
    reply = "HTTP/1.1 " + std::to_string(status_.load()) + " X\r\nContent-Type: text/plain\r\n" +
            "Content-Length: " + std::to_string(options_.body.size()) + "\r\n\r\n" + options_.body;
  }
  co_await asio::async_write(stream, asio::buffer(reply), as_tuple(asio::use_awaitable));
  co_await stream.async_shutdown(as_tuple(asio::use_awaitable));
}

Outcome run_probe(asio::io_context& io, const config::HealthCheck& check, tcp::endpoint endpoint,
                  const std::string& host) {
  std::optional<Outcome> result;
  asio::co_spawn(io, probe(check, endpoint, host), [&](std::exception_ptr, Outcome outcome) {
    result = std::move(outcome);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!result && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  io.restart();
  if (!result) return Outcome::failure(Layer::Timeout, "test: probe did not finish in 30s");
  return *result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace kha::health::testing
