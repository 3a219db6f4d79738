// AdminServer on loopback: routes, errors, bounds, timeouts, concurrency, address in use.
// The server runs on its own io_context thread; clients are http::fetch() and raw sockets.
#include "admin/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "http/fetch.h"

namespace kha::admin {
namespace {

using namespace std::chrono_literals;

http::FetchResult http_get(const std::string& address, const std::string& path,
                           std::chrono::milliseconds timeout = 5s) {
  return http::fetch(address, path, {.timeout = timeout});
}

http::FetchResult http_request(const std::string& address, const std::string& method, const std::string& path,
                               std::chrono::milliseconds timeout, const std::string& body = {}) {
  return http::fetch(address, path, {.method = method, .body = body, .timeout = timeout});
}

// A blocking loopback client socket with a 5 s receive deadline.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) { (void)!::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // Everything until the server closes (or 5 s pass, or `until` has been received).
  std::string receive(const std::string& until = {}) {
    std::string out;
    char buf[4096];
    while (until.empty() || out.find(until) == std::string::npos) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = n == 0 || errno == ECONNRESET;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void start(AdminServerOptions options = {}) {
    std::vector<Route> routes = {
        {"GET", "/healthz", [](const HttpRequest&) { return text_response(200, "ok"); }},
        {"POST", "/echo", [](const HttpRequest& r) { return HttpResponse{200, "application/octet-stream", r.body}; }},
        {"GET", "/throws", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); }},
    };
    server_ = std::make_unique<AdminServer>(io_, HostPort{"127.0.0.1", 0}, std::move(routes), options);
    ASSERT_FALSE(server_->start());
    port_ = server_->local_address().port;
    address_ = "127.0.0.1:" + std::to_string(port_);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      server_->stop();
      work_.reset();
    });
    thread_.join();  // returns only once every connection coroutine has finished
  }

  // Read on the server's thread, which owns the connection table.
  std::size_t active_connections() {
    std::promise<std::size_t> n;
    asio::post(io_, [&] { n.set_value(server_->active_connections()); });
    return n.get_future().get();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::string address_;
};

TEST_F(AdminServerTest, ServesRoutes) {
  start();
  const auto r = http_get(address_, "/healthz");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "ok\n");
  const auto echo = http_request(address_, "POST", "/echo", 5s, "hello body");
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.body, "hello body");
}

TEST_F(AdminServerTest, UnknownPathIs404AndWrongMethod405) {
  start();
  const auto r = http_get(address_, "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no page /nope; pages: /healthz /echo /throws\n");
  RawClient c(port_);
  c.send("DELETE /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::string raw = c.receive();
  EXPECT_EQ(raw.substr(0, 33), "HTTP/1.1 405 Method Not Allowed\r\n");
  EXPECT_NE(raw.find("Allow: GET, HEAD\r\n"), std::string::npos) << raw;
}

TEST_F(AdminServerTest, HeadAnswersWithoutBody) {
  start();
  RawClient c(port_);
  c.send("HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.receive(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\n");
}

TEST_F(AdminServerTest, HandlerExceptionIs500) {
  start();
  EXPECT_EQ(http_get(address_, "/throws").status, 500);
  EXPECT_EQ(http_get(address_, "/healthz").status, 200);  // and the server carries on
}

TEST_F(AdminServerTest, BadRequestIs400AndCloses) {
  start();
  RawClient c(port_);
  c.send("hello there\r\n\r\n");
  const std::string raw = c.receive();
  EXPECT_EQ(raw.substr(0, 26), "HTTP/1.1 400 Bad Request\r\n");
  EXPECT_NE(raw.find("expected a request line"), std::string::npos);
  EXPECT_TRUE(c.closed());
}

TEST_F(AdminServerTest, RequestSizeIsBounded) {
  start(AdminServerOptions{.max_head_bytes = 256, .max_body_bytes = 16});
  RawClient big_head(port_);
  big_head.send("GET /healthz HTTP/1.1\r\nX-Long: " + std::string(1000, 'a') + "\r\n\r\n");
  EXPECT_EQ(big_head.receive().substr(0, 46), "HTTP/1.1 431 Request Header Fields Too Large\r\n");
  EXPECT_TRUE(big_head.closed());
  const auto r = http_request(address_, "POST", "/echo", 5s, std::string(17, 'b'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "request body larger than 16 bytes\n");
  EXPECT_EQ(http_request(address_, "POST", "/echo", 5s, std::string(16, 'b')).body, std::string(16, 'b'));
}

TEST_F(AdminServerTest, SilentConnectionIsClosedAfterTheHeaderTimeout) {
  start(AdminServerOptions{.header_timeout = 200ms});
  RawClient c(port_);
  c.send("GET /healthz HTTP/1.1\r\n");  // never finishes its head
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(c.receive(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 4s);  // well before the client's own 5 s deadline
  EXPECT_EQ(server_->stats().header_timeouts.load(), 1u);
}

TEST_F(AdminServerTest, KeepAliveIdleRunsOnTheIdleTimeoutNotTheHeaderTimeout) {
  start(AdminServerOptions{.header_timeout = 100ms, .idle_timeout = 1500ms});
  RawClient c(port_);
  c.send("GET /healthz HTTP/1.1\r\n\r\n");
  ASSERT_NE(c.receive("ok\n").find("200 OK"), std::string::npos);
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(c.receive(), "");  // the server closes the idle connection
  const auto idle = std::chrono::steady_clock::now() - begin;
  EXPECT_TRUE(c.closed());
  EXPECT_GE(idle, 1200ms);
  EXPECT_LT(idle, 4s);
  EXPECT_EQ(server_->stats().header_timeouts.load(), 0u);  // idle is not a slow request
}

TEST_F(AdminServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawClient c(port_);
  c.send("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_NE(c.receive("ok\n").find("Connection: keep-alive"), std::string::npos);
  c.send("POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::string both = c.receive();
  EXPECT_NE(both.find("\r\n\r\nabcHTTP/1.1 200 OK"), std::string::npos) << both;  // pipelined, in order
  EXPECT_TRUE(c.closed());
}

TEST_F(AdminServerTest, SlowClientsDoNotBlockOthers) {
  start();
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 10; ++i) {
    idle.push_back(std::make_unique<RawClient>(port_));
    idle.back()->send("GET /healthz HTTP/1.1\r\n");  // half a request each
  }
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] { ok += http_get(address_, "/healthz", 5s).status == 200; });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8);
  for (auto& c : idle) {
    c->send("Connection: close\r\n\r\n");
    EXPECT_EQ(c->receive().substr(0, 17), "HTTP/1.1 200 OK\r\n");
  }
}

TEST_F(AdminServerTest, AFullTableEvictsTheOldestWaitingConnection) {
  start(AdminServerOptions{.max_connections = 2});
  // Both wait for their next request (keep-alive), a since before b.
  RawClient a(port_), b(port_);
  a.send("GET /healthz HTTP/1.1\r\n\r\n");
  ASSERT_NE(a.receive("ok\n").find("200 OK"), std::string::npos);
  b.send("GET /healthz HTTP/1.1\r\n\r\n");
  ASSERT_NE(b.receive("ok\n").find("200 OK"), std::string::npos);
  // A third connection is served: a, which has waited longest for its request, makes room.
  EXPECT_EQ(http_get(address_, "/healthz", 2s).status, 200);
  EXPECT_EQ(a.receive(), "");
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(server_->stats().evicted.load(), 1u);
  b.send("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(b.receive().substr(0, 17), "HTTP/1.1 200 OK\r\n");
}

// Issue #14: idle connections past the table size must not keep /healthz from answering.
TEST_F(AdminServerTest, IdleConnectionsCannotHoldTheEndpointShut) {
  start(AdminServerOptions{.max_connections = 8});
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(std::make_unique<RawClient>(port_));
  for (int i = 0; i < 10; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    const auto r = http_get(address_, "/healthz", 1s);
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  }
  EXPECT_GE(server_->stats().evicted.load(), 10u);
  EXPECT_LE(active_connections(), 8u);
}

TEST_F(AdminServerTest, StateChangingRequestsFromWebPagesAreRefused) {
  start();
  const std::string host = "Host: " + address_ + "\r\n";
  const auto post = [&](const std::string& headers) {
    RawClient c(port_);
    c.send("POST /echo HTTP/1.1\r\n" + headers + "Content-Length: 2\r\nConnection: close\r\n\r\nhi");
    return c.receive();
  };
  EXPECT_EQ(post(host + "Origin: http://evil.example\r\n").substr(0, 24), "HTTP/1.1 403 Forbidden\r\n");
  EXPECT_EQ(post(host + "Sec-Fetch-Site: cross-site\r\n").substr(0, 24), "HTTP/1.1 403 Forbidden\r\n");
  EXPECT_EQ(post("Host: evil.example:" + std::to_string(port_) + "\r\n").substr(0, 34),
            "HTTP/1.1 421 Misdirected Request\r\n");
  EXPECT_EQ(post(host + "Content-Type: text/plain\r\n").substr(0, 37), "HTTP/1.1 415 Unsupported Media Type\r\n");
  EXPECT_EQ(server_->stats().refused_origin.load(), 1u);
  EXPECT_EQ(server_->stats().refused_fetch_site.load(), 1u);
  EXPECT_EQ(server_->stats().refused_host.load(), 1u);
  EXPECT_EQ(server_->stats().refused_content_type.load(), 1u);
  // What `kha reload` and curl send passes; reads are not guarded.
  EXPECT_EQ(http_request(address_, "POST", "/echo", 5s, "hi").body, "hi");
  EXPECT_NE(post(host + "Sec-Fetch-Site: none\r\nContent-Type: application/json\r\n").find("\r\n\r\nhi"),
            std::string::npos);
  RawClient get(port_);
  get.send("GET /healthz HTTP/1.1\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(get.receive().substr(0, 17), "HTTP/1.1 200 OK\r\n");
}

TEST_F(AdminServerTest, AddressInUseIsAnErrorNotAnException) {
  start();
  asio::io_context other;
  AdminServer second(other, HostPort{"127.0.0.1", port_}, {});
  const std::error_code ec = second.start();
  EXPECT_EQ(ec, asio::error::address_in_use) << ec.message();
  EXPECT_EQ(ec.message(), "Address already in use");
}

TEST(AdminServerStart, NameInsteadOfAddressIsAnError) {
  asio::io_context io;
  AdminServer server(io, HostPort{"localhost", 0}, {});
  EXPECT_TRUE(server.start());
}

TEST(AdminServerStart, Ipv6Loopback) {
  asio::io_context io;
  AdminServer server(io, HostPort{"::1", 0}, {{"GET", "/", [](const HttpRequest&) { return text_response(200, "six"); }}});
  if (server.start()) GTEST_SKIP() << "no IPv6 loopback here";
  const HostPort bound = server.local_address();
  EXPECT_EQ(bound.host, "::1");
  std::thread t([&] { io.run_for(5s); });
  const auto r = http_get(bound.to_string(), "/");
  asio::post(io, [&] {
    server.stop();
    io.stop();
  });
  t.join();
  EXPECT_EQ(r.body, "six\n");
}

TEST(HttpClient, UnreachableServerIsAnError) {
  // A port that was just free: bind, note it, close.
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = a.local_endpoint().port();
  a.close();
  const auto r = http_get("127.0.0.1:" + std::to_string(port), "/backends", 2s);
  EXPECT_EQ(r.error, "Connection refused");
  EXPECT_EQ(http_get("nonsense", "/").error, "bad address \"nonsense\": expected host:port, e.g. 127.0.0.1:6443");
}

}  // namespace
}  // namespace kha::admin
