#include "daemon/proxy_server.h"

#include <csignal>
#include <thread>

#include "common/log.h"

namespace kha::daemon {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string endpoint_text(const tcp::endpoint& e) {
  return wrap_ipv6(e.address().to_string()) + ":" + std::to_string(e.port());
}

// A listen address may be a name ("localhost:6443"): every address it resolves to.
std::vector<tcp::endpoint> resolve_listen(asio::io_context& io, const std::string& text, std::string* error) {
  std::string why;
  auto hp = parse_host_port(text, &why);
  if (!hp) {
    *error = text + ": " + why;
    return {};
  }
  asio::error_code ec;
  if (auto ip = asio::ip::make_address(hp->host, ec); !ec) return {tcp::endpoint(ip, hp->port)};
  tcp::resolver resolver(io);
  auto results = resolver.resolve(hp->host, std::to_string(hp->port), ec);
  if (ec || results.empty()) {
    *error = text + ": cannot resolve '" + hp->host + "': " + ec.message();
    return {};
  }
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) out.push_back(r.endpoint());
  return out;
}

// SO_REUSEPORT would let us share a port with another process of the same user
// without noticing (two kha instances splitting the traffic). Bind once without it
// first, so that "address already in use" is reported as such.
std::error_code probe_exclusive(asio::io_context& io, const tcp::endpoint& e) {
  tcp::acceptor probe(io);
  asio::error_code ec;
  probe.open(e.protocol(), ec);
  if (ec) return ec;
  probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (e.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
  probe.bind(e, ec);
  return ec;
}

}  // namespace

ProxyServer::ProxyServer(config::Config config) : config_(std::move(config)) {
  // Signals first: a SIGTERM during start-up must drain and exit 0, not kill.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  for (const auto& f : config_.frontends) {
    pool::BackendList backends;
    for (const auto& b : f.backends) {
      auto hp = parse_host_port(b.address);
      backends.push_back(std::make_shared<pool::Backend>(b.name.empty() ? b.address : b.name, hp.value_or(HostPort{})));
    }
    auto fe = std::make_shared<proxy::FrontendRuntime>(std::make_shared<const config::Frontend>(f), std::move(backends));
    frontends_.push_back(std::move(fe));
  }
}

ProxyServer::~ProxyServer() {
  for (auto& w : workers_) w->stop_and_join();
}

std::string ProxyServer::start() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int n = config_.workers > 0 ? config_.workers : static_cast<int>(cores);
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<proxy::Worker>(i, config_.splice));
  for (auto& fe : frontends_)
    for (const auto& text : fe->settings()->listen)
      if (auto error = bind_listener(fe, text); !error.empty()) return error;
  for (auto& fe : frontends_)
    if (auto error = health_.add(fe); !error.empty()) return error;
  health_.on_outcome = [this](const std::string& f, const std::string& b, const health::Outcome& o) {
    admin_.on_outcome(f, b, o);
  };
  health_.on_transition = [this](const std::string& f, const std::string& b, const health::Transition& t) {
    admin_.on_transition(f, b, t);
  };
  if (auto error = admin_.start(config_.admin.listen); !error.empty()) return error;
  for (auto& w : workers_) w->start();
  health_.start();
  return {};
}

std::string ProxyServer::bind_listener(const proxy::FrontendPtr& fe, const std::string& text) {
  std::string error;
  const auto endpoints = resolve_listen(main_, text, &error);
  if (endpoints.empty()) return "frontend " + fe->name() + ": listen " + error;
  for (const auto& e : endpoints) {
    if (auto ec = probe_exclusive(main_, e))
      return "frontend " + fe->name() + ": cannot listen on " + endpoint_text(e) + ": " + ec.message();
    for (auto& w : workers_)
      if (auto ec = w->listen(fe, e))
        return "frontend " + fe->name() + ": cannot listen on " + endpoint_text(e) + ": " + ec.message();
  }
  bound_[{fe->name(), text}] = endpoints;
  return {};
}

void ProxyServer::unbind_listener(const std::string& frontend, const std::string& text) {
  auto it = bound_.find({frontend, text});
  if (it == bound_.end()) return;
  for (const auto& e : it->second)
    for (auto& w : workers_) w->stop_accepting(e);
  bound_.erase(it);
}

std::size_t ProxyServer::active_sessions() const {
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->active_sessions();
  return n;
}

void ProxyServer::on_backend_down(const pool::BackendPtr& backend) {
  for (auto& w : workers_) w->close_sessions_of(backend);
}

int ProxyServer::run() {
  asio::co_spawn(main_, handle_signals(), [](std::exception_ptr) {});
  asio::co_spawn(main_, announce_ready(), [](std::exception_ptr) {});
  if (auto interval = notify_.watchdog_interval())
    asio::co_spawn(main_, feed_watchdog(*interval), [](std::exception_ptr) {});
  std::size_t listeners = 0, backends = 0;
  for (const auto& f : config_.frontends) {
    listeners += f.listen.size();
    backends += f.backends.size();
  }
  log::info("started", {{"version", KHA_VERSION}, {"config", config_.source},
                        {"frontends", std::to_string(frontends_.size())}, {"listeners", std::to_string(listeners)},
                        {"backends", std::to_string(backends)}, {"workers", std::to_string(workers_.size())},
                        {"splice", config_.splice ? "on" : "off"}});
  main_.run();
  return exit_code_;
}

void ProxyServer::request_stop() {
  asio::co_spawn(main_, shutdown("requested"), [](std::exception_ptr) {});
}

asio::awaitable<void> ProxyServer::handle_signals() {
  for (;;) {
    asio::error_code ec;
    int sig = co_await signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (sig == SIGHUP) {
      if (!stopping_) reload();
      continue;
    }
    co_await shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    co_return;
  }
}

// READY=1 once the listeners are bound (start()) and every backend has been probed
// once, so systemd orders kubelet after a proxy that knows which apiservers work.
asio::awaitable<void> ProxyServer::announce_ready() {
  asio::steady_timer tick(main_);
  asio::error_code ec;
  while (!health_.first_round_done() && !stopping_) {
    tick.expires_after(std::chrono::milliseconds(10));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (stopping_) co_return;
  notify_.ready();
  std::size_t up = 0, total = 0;
  for (const auto& fe : frontends_)
    for (const auto& b : *fe->backends().snapshot()) {
      ++total;
      up += b->up() ? 1 : 0;
    }
  log::info("ready", {{"backends_up", std::to_string(up)}, {"backends", std::to_string(total)}});
}

// WATCHDOG=1 from the main loop: if the loop stalls, systemd notices and restarts us.
asio::awaitable<void> ProxyServer::feed_watchdog(std::chrono::microseconds interval) {
  asio::steady_timer tick(main_);
  asio::error_code ec;
  while (!stopping_) {
    notify_.watchdog();
    tick.expires_after(interval);
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> ProxyServer::shutdown(std::string reason) {
  if (stopping_) co_return;
  stopping_ = true;
  notify_.stopping();
  const auto begun = Clock::now();
  for (auto& w : workers_) w->stop_accepting();
  const std::size_t open_at_start = active_sessions();
  log::info("stopping", {{"reason", reason}, {"open_sessions", std::to_string(open_at_start)},
                         {"grace", format_duration(config_.shutdown_grace)}});
  asio::steady_timer tick(main_);
  asio::error_code ec;
  while (active_sessions() > 0 && Clock::now() - begun < config_.shutdown_grace) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  const std::size_t cut = active_sessions();
  if (cut > 0) {
    for (auto& w : workers_) w->close_all_sessions();
    const auto cutoff = Clock::now();
    while (active_sessions() > 0 && Clock::now() - cutoff < std::chrono::seconds(2)) {
      tick.expires_after(std::chrono::milliseconds(20));
      co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  for (auto& w : workers_) w->stop_and_join();
  health_.stop();
  admin_.stop();
  signals_.cancel(ec);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begun);
  log::info("stopped", {{"reason", reason}, {"drained", std::to_string(open_at_start - std::min(open_at_start, cut))},
                        {"closed_at_deadline", std::to_string(cut)}, {"took", format_duration(took)}});
  main_.stop();
}

}  // namespace kha::daemon
