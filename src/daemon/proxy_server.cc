// ProxyServer: start-up, the frontends' owners, signals, readiness and shutdown (proxy_server.h).
#include "daemon/proxy_server.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "common/log.h"
#include "daemon/listen_socket.h"
#include "daemon/open_files.h"

namespace kha::daemon {

using Clock = std::chrono::steady_clock;

ProxyServer::ProxyServer(config::Config config) : config_(std::move(config)) {
  // Signals first: a SIGTERM during start-up must drain and exit 0, not kill.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
}

ProxyServer::~ProxyServer() {
  for (auto& w : workers_) w->stop_and_join();
  owners_.clear();  // closes our listening descriptors
  for (auto& [_, fds] : parked_)
    for (int fd : fds) ::close(fd);
}

// The session cap: the config's max_sessions, never more than the descriptors allow
// (proxy/session_cap.h). Called at start and after a reload.
void ProxyServer::apply_session_cap() {
  const std::size_t allowed = proxy::sessions_for_descriptors(open_files_);
  const std::size_t wanted = config_.max_sessions > 0 ? static_cast<std::size_t>(config_.max_sessions) : allowed;
  if (wanted > allowed)
    log::warn("max_sessions_lowered", {{"max_sessions", std::to_string(wanted)}, {"allowed", std::to_string(allowed)},
                                       {"open_files", std::to_string(open_files_)},
                                       {"fix", "raise LimitNOFILE (systemd) or the container's nofile ulimit"}});
  const std::size_t cap = std::min(wanted, allowed);
  if (cap != session_cap_->limit.exchange(cap))
    log::info("session_cap", {{"sessions", std::to_string(cap)}, {"open_files", std::to_string(open_files_)}});
}

std::string ProxyServer::start() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int n = config_.workers > 0 ? config_.workers : static_cast<int>(cores);
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<proxy::Worker>(i, config_.splice));
  open_files_ = raise_open_files_limit().soft;
  apply_session_cap();
  for (auto& w : workers_) {  // a burst of clients is spread over the workers (accept_balance.h)
    std::vector<proxy::Hub*> peers;
    for (auto& other : workers_)
      if (other != w) peers.push_back(&other->hub());
    w->hub().set_peers(std::move(peers));
    w->hub().set_session_cap(session_cap_);
  }
  admin_.session_cap = session_cap_;
  admin_.worker_loads = [this] {
    std::vector<AdminWiring::WorkerLoad> loads;
    for (auto& w : workers_) loads.push_back({w->active_sessions(), w->hub().handovers(), w->hub().accept_failures()});
    return loads;
  };
  owner_context_.on_outcome = [this](const std::string& f, const std::string& b, const health::Outcome& o) {
    admin_.on_outcome(f, b, o);
  };
  owner_context_.on_transition = [this](const std::string& f, const std::string& b, const health::Transition& t) {
    admin_.on_transition(f, b, t);
  };
  owner_context_.on_bind_gave_up = [this](const std::string&) {
    exit_code_ = 1;  // the kubelet (or systemd) restarts us; the error is logged
    request_stop();
  };
  // A takeover is the same apply as a start; the listeners adopt the old process's sockets.
  const char* cause = parked_.empty() ? "start" : "takeover";
  for (const auto& f : config_.frontends) {
    auto owner = std::make_shared<FrontendOwner>(owner_context_, f.name);
    owners_.emplace(f.name, owner);
    if (auto error = owner->configure(f, cause); !error.empty()) return error;
  }
  close_parked("takeover_listener_dropped");  // endpoints the new config no longer has
  std::error_code admin_failed;
  if (auto error = admin_.start(config_.admin, admin_routes(), &admin_failed); !error.empty()) {
    if (!is_address_in_use(admin_failed) || owner_context_.bind_retry.count() <= 0) return error;
    admin_.stop();
    log::warn("admin_bind_waiting", {{"error", error}, {"retry_for_ms", std::to_string(owner_context_.bind_retry.count())},
                                     {"action", "serving clients; the admin endpoint follows once the port is free"}});
    asio::co_spawn(main_, retry_admin_bind(), log::CoroutineEnd{"admin_bind_retry"});
  }
  for (auto& w : workers_) w->start();
  admin_.on_config(/*reload=*/false, /*ok=*/true);
  return {};
}

std::vector<AdminWiring::Frontend> ProxyServer::frontends_in_order() const {
  std::vector<AdminWiring::Frontend> out;
  for (const auto& f : config_.frontends)
    if (auto it = owners_.find(f.name); it != owners_.end() && it->second->runtime())
      out.push_back({it->second->runtime(), &it->second->health()});
  return out;
}

void ProxyServer::close_parked(const char* event) {
  for (auto& [where, fds] : parked_) {
    log::info(event, {{"listen", where}, {"reason", "not in the config"}});
    for (int fd : fds) ::close(fd);
  }
  parked_.clear();
}

// POST /reload: the same reload as SIGHUP, answered with its outcome (`kha reload`).
// Files are named without their directories; the log has the whole paths.
std::vector<admin::Route> ProxyServer::admin_routes() {
  return {{"POST", "/reload", [this](const admin::HttpRequest&) {
             const auto problems = reload();
             if (problems.empty())
               return admin::text_response(200, admin::without_directories("ok: reloaded " + config_.source));
             std::string body = "reload failed, kept the running config:";
             for (const auto& p : problems) body += "\n" + p;
             return admin::text_response(400, admin::without_directories(body));
           }}};
}

std::string ProxyServer::enable_takeover(const std::string& path) {
  TakeoverServer::Hooks hooks;
  hooks.listeners = [this] {
    std::vector<std::pair<std::string, int>> out;
    for (const auto& [_, owner] : owners_) owner->collect_listen_fds(&out);
    return out;
  };
  // The new process binds the admin address itself: free it before it starts.
  hooks.before_handoff = [this] { admin_.stop(); };
  hooks.after_handoff = [this](bool served) {
    if (served) {
      asio::co_spawn(main_, shutdown("takeover"), log::CoroutineEnd{"shutdown"});
      return;
    }
    if (auto e = admin_.start(config_.admin, admin_routes()); !e.empty())
      log::error("admin_restart_failed", {{"error", e}});
  };
  takeover_ = std::make_unique<TakeoverServer>(main_, path, std::move(hooks));
  return takeover_->start();
}

std::size_t ProxyServer::active_sessions() const {
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->active_sessions();
  return n;
}

int ProxyServer::run() {
  asio::co_spawn(main_, handle_signals(), log::CoroutineEnd{"signals"});
  asio::co_spawn(main_, announce_ready(), log::CoroutineEnd{"announce_ready"});
  if (auto interval = notify_.watchdog_interval())
    asio::co_spawn(main_, feed_watchdog(*interval), log::CoroutineEnd{"watchdog"});
  std::size_t listeners = 0, backends = 0;
  for (const auto& f : config_.frontends) {
    listeners += f.listen.size();
    backends += f.backends.size();
  }
  log::info("started", {{"version", KHA_VERSION}, {"config", config_.source},
                        {"frontends", std::to_string(owners_.size())}, {"listeners", std::to_string(listeners)},
                        {"backends", std::to_string(backends)}, {"workers", std::to_string(workers_.size())},
                        {"splice", config_.splice ? "on" : "off"}});
  main_.run();
  return exit_code_;
}

void ProxyServer::request_stop() {
  asio::co_spawn(main_, shutdown("requested"), log::CoroutineEnd{"shutdown"});
}

asio::awaitable<void> ProxyServer::handle_signals() {
  for (;;) {
    asio::error_code ec;
    int sig = co_await signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (sig == SIGHUP) {
      if (!stopping_) (void)reload();
      continue;
    }
    co_await shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    co_return;
  }
}

// READY=1 once the listeners are bound (start()) and every backend has been probed
// once, so systemd orders kubelet after a proxy that knows which apiservers work.
asio::awaitable<void> ProxyServer::retry_admin_bind() {
  asio::steady_timer tick(main_);
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    // Coarser than a listener's 5 ms: nothing but probes and operators wait on it.
    tick.expires_after(std::chrono::milliseconds(50));
    asio::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    std::error_code failed;
    const std::string error = admin_.start(config_.admin, admin_routes(), &failed);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (error.empty()) {
      log::info("admin_bind_taken", {{"listen", config_.admin.listen}, {"waited_ms", std::to_string(waited.count())}});
      co_return;
    }
    admin_.stop();
    if (!is_address_in_use(failed) || waited >= owner_context_.bind_retry) {
      log::error("admin_bind_gave_up", {{"error", error}, {"waited_ms", std::to_string(waited.count())}});
      exit_code_ = 1;  // the kubelet (or systemd) restarts us
      request_stop();
      co_return;
    }
  }
}

asio::awaitable<void> ProxyServer::announce_ready() {
  asio::steady_timer tick(main_);
  asio::error_code ec;
  const auto first_round_done = [this] {
    return std::all_of(owners_.begin(), owners_.end(), [](const auto& o) { return o.second->health().first_round_done(); });
  };
  while (!first_round_done() && !stopping_) {
    tick.expires_after(std::chrono::milliseconds(10));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (stopping_) co_return;
  notify_.ready();
  std::size_t up = 0, total = 0;
  for (const auto& [fe, _] : frontends_in_order())
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
  if (takeover_) takeover_->stop();
  for (auto& [_, owner] : owners_) {
    owner->close_listen_fds();  // after a takeover the new process still holds the sockets
    owner->stop_discovery();
  }
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
  for (auto& [_, owner] : owners_) owner->stop_checkers();
  admin_.stop();
  signals_.cancel(ec);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begun);
  log::info("stopped", {{"reason", reason}, {"drained", std::to_string(open_at_start - std::min(open_at_start, cut))},
                        {"closed_at_deadline", std::to_string(cut)}, {"took", format_duration(took)}});
  main_.stop();
}

}  // namespace kha::daemon
