// kha demo: kha's main job on an embedded default. Three stand-in kube-apiservers on
// 127.0.0.1 (kha standin), a kha proxy in front of them with HTTPS /readyz checks,
// HTTPS requests through it, one stand-in killed mid-way, traffic carrying on, and
// the backend table from the admin endpoint. Child processes only; all on loopback.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "admin/backends_view.h"
#include "cli/commands.h"
#include "common/log.h"
#include "http/client.h"
#include "http/fetch.h"
#include "http/request.h"
#include "tls/asio_context.h"
#include "tls/context.h"

extern char** environ;

namespace kha::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // its stdout, when captured
};

// Starts /proc/self/exe with `args`; captures stdout when asked.
std::optional<Child> spawn_self(const std::vector<std::string>& args, bool capture) {
  std::vector<char*> argv;
  std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int fds[2] = {-1, -1};
  if (capture) {
    if (pipe(fds) != 0) return std::nullopt;
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
  }
  Child child;
  const int rc = posix_spawn(&child.pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (capture) {
    close(fds[1]);
    child.out = fdopen(fds[0], "r");
  }
  if (rc != 0) return std::nullopt;
  return child;
}

void stop_child(Child& c, int sig = SIGTERM) {
  if (c.pid <= 0) return;
  kill(c.pid, sig);
  int status = 0;
  waitpid(c.pid, &status, 0);
  c.pid = -1;
  if (c.out) fclose(c.out);
  c.out = nullptr;
}

int free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// One HTTPS GET /version through the proxy; returns the stand-in's identity or "".
std::string who_answers(int port, asio::ssl::context& tls) {
  asio::io_context io;
  std::string identity;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    const auto executor = co_await asio::this_coro::executor;
    http::ClientOptions options;
    options.tls = &tls;
    options.verify_name = false;  // the stand-ins' certificates are self-signed
    options.timeout = 3s;
    http::Client client(executor, std::move(options));
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    http::ResponseParser parser;
    auto work = [&]() -> asio::awaitable<std::optional<http::Error>> {
      if (auto error = co_await client.connect(ep)) co_return error;
      const std::string request = http::serialize({.target = "/version", .host = "localhost"});
      co_return co_await client.exchange(request, parser);
    };
    const auto result = co_await client.bounded(work());
    if (result && !*result) identity = std::string(parser.head().field("X-Standin-Identity"));
  }, log::CoroutineEnd{"demo_request"});
  io.run();
  return identity;
}

struct Round {
  std::map<std::string, int> by_backend;
  int failed = 0;
};

Round send_requests(int port, int count, asio::ssl::context& tls) {
  Round r;
  for (int i = 0; i < count; ++i) {
    const auto id = who_answers(port, tls);
    if (id.empty()) ++r.failed;
    else ++r.by_backend[id];
  }
  return r;
}

void print_round(const char* title, const Round& r) {
  std::cout << title << ":";
  for (const auto& [id, n] : r.by_backend) std::cout << " " << id << "=" << n;
  std::cout << "  failed=" << r.failed << "\n";
}

int run_demo(int requests) {
  std::vector<Child> standins;
  std::vector<std::string> names = {"apiserver-1", "apiserver-2", "apiserver-3"}, addresses;
  auto cleanup = [&] {
    for (auto& s : standins) stop_child(s);
  };
  for (const auto& name : names) {
    auto c = spawn_self({"standin", "--name", name, "--listen", "127.0.0.1:0"}, true);
    char line[256] = {};
    if (!c || !c->out || !fgets(line, sizeof line, c->out)) {
      std::cerr << "kha demo: could not start stand-in " << name << "\n";
      cleanup();
      return 1;
    }
    standins.push_back(*c);
    std::string l(line);
    addresses.push_back(l.substr(l.find(' ') + 1, l.find_last_not_of("\r\n") - l.find(' ')));
    std::cout << "stand-in " << name << " (a TLS server that behaves like kube-apiserver) on " << addresses.back() << "\n";
  }
  const int port = free_port();
  const std::string admin = "127.0.0.1:" + std::to_string(free_port());
  std::vector<std::string> proxy_args = {"proxy", "--listen", "127.0.0.1:" + std::to_string(port), "--health-check",
                                         "https", "--admin", admin};
  for (const auto& a : addresses) proxy_args.insert(proxy_args.end(), {"--backend", a});
  std::cout << "kha proxy on 127.0.0.1:" << port << ", admin on " << admin << ", HTTPS /readyz checks\n";
  auto proxy = spawn_self(proxy_args, false);
  if (!proxy) {
    std::cerr << "kha demo: could not start kha proxy\n";
    cleanup();
    return 1;
  }
  const auto deadline = Clock::now() + 10s;
  while (!http::fetch(admin, "/healthz", {.timeout = 500ms}).ok() && Clock::now() < deadline)
    std::this_thread::sleep_for(50ms);

  // The stand-ins' certificates are self-signed: the demo does not verify them.
  auto made = tls::make_client_context({.verify = false});
  if (!made) {
    std::cerr << "kha demo: " << made.errors().front().message << "\n";
    stop_child(*proxy);
    cleanup();
    return 1;
  }
  asio::ssl::context tls = tls::adopt(std::move(made.value()));
  const Round before = send_requests(port, requests, tls);
  print_round("requests with 3 apiservers", before);
  std::cout << "killing " << names[1] << " (SIGKILL)\n";
  stop_child(standins[1], SIGKILL);
  const Round after = send_requests(port, requests * 2, tls);
  print_round("requests after the kill    ", after);

  const auto view = http::fetch(admin, "/backends", {.timeout = 2s});
  std::string why;
  if (auto parsed = view.ok() ? admin::parse_backends_json(view.body, &why) : std::nullopt)
    std::cout << "\n" << admin::render_table(*parsed);
  else
    std::cout << "backend table unavailable: " << (view.ok() ? why : view.error) << "\n";

  stop_child(*proxy);
  cleanup();
  const bool ok = before.failed == 0 && after.failed == 0 && !after.by_backend.count(names[1]);
  std::cout << (ok ? "\nno request failed: the killed apiserver was never noticed by a client\n"
                   : "\nsome requests failed\n");
  return ok ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& root, int* exit_code) {
  auto requests = std::make_shared<int>(15);
  auto* cmd = root.add_subcommand("demo", "Show kha proxy at work: 3 stand-in apiservers, one killed, traffic carries on");
  cmd->add_option("--requests", *requests, "HTTPS requests per round")->check(CLI::Range(1, 1000));
  cmd->callback([requests, exit_code] { *exit_code = run_demo(*requests); });
}

}  // namespace kha::cli
