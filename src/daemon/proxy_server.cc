#include "daemon/proxy_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "common/log.h"
#include "daemon/open_files.h"

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

// The listening socket of one address, which every worker waits on (Hub says why
// not one per worker). SO_REUSEPORT all the same: the process that takes over on
// restart binds the address while this one still serves it.
int open_listener(const tcp::endpoint& e, std::error_code* ec) {
  int fd = ::socket(e.address().is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *ec = std::error_code(errno, std::system_category());
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (e.address().is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, e.data(), static_cast<socklen_t>(e.size())) < 0 || ::listen(fd, 4096) < 0) {
    *ec = std::error_code(errno, std::system_category());
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ProxyServer::ProxyServer(config::Config config) : config_(std::move(config)) {
  // Signals first: a SIGTERM during start-up must drain and exit 0, not kill.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  for (const auto& file_fe : config_.frontends) {
    // Discovery's state file, when there is a good one, replaces the static seed.
    config::Frontend f = file_fe;
    if (!f.discovery.state_file.empty()) {
      std::string why;
      if (auto state = load_state(f.discovery.state_file, &why)) {
        learned_[f.name] = *state;
        f = with_backends(file_fe, *state);
        log::info("discovery_state_loaded", {{"frontend", f.name}, {"file", f.discovery.state_file},
                                             {"backends", std::to_string(state->size())}});
      } else if (!why.empty()) {
        log::warn("discovery_state_ignored",
                  {{"frontend", f.name}, {"error", why}, {"action", "starting from the static backends"}});
      }
    }
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
  close_listen_fds();
  for (auto& [_, fds] : inherited_)
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
    for (auto& w : workers_) loads.push_back({w->active_sessions(), w->hub().handovers()});
    return loads;
  };
  for (auto& fe : frontends_)
    for (const auto& text : fe->settings()->listen)
      if (auto error = bind_listener(fe, text); !error.empty()) return error;
  for (auto& [where, fds] : inherited_) {  // endpoints the new config no longer has
    log::info("takeover_listener_dropped", {{"listen", where}, {"reason", "not in the config"}});
    for (int fd : fds) ::close(fd);
  }
  inherited_.clear();
  for (auto& fe : frontends_)
    if (auto error = health_.add(fe); !error.empty()) return error;
  health_.on_outcome = [this](const std::string& f, const std::string& b, const health::Outcome& o) {
    admin_.on_outcome(f, b, o);
  };
  health_.on_transition = [this](const std::string& f, const std::string& b, const health::Transition& t) {
    admin_.on_transition(f, b, t);
  };
  if (auto error = admin_.start(config_.admin.listen, admin_routes()); !error.empty()) return error;
  for (auto& w : workers_) w->start();
  health_.start();
  for (auto& fe : frontends_)
    if (auto error = start_discovery(fe); !error.empty()) return error;
  return {};
}

config::Frontend ProxyServer::with_backends(const config::Frontend& from_file, const std::vector<HostPort>& set) const {
  config::Frontend f = from_file;
  f.backends.clear();
  for (const auto& hp : set) {
    config::Backend b{hp.to_string(), hp.to_string()};
    for (const auto& s : from_file.backends)
      if (auto a = parse_host_port(s.address); a && a->host == hp.host && a->port == hp.port)
        b.name = s.name.empty() ? s.address : s.name;
    f.backends.push_back(std::move(b));
  }
  return f;
}

// Discovery connects to the frontend's own first listen address (loopback for a
// wildcard), so the list and watch reach whichever apiserver kha considers up.
std::string ProxyServer::start_discovery(const proxy::FrontendPtr& fe) {
  const auto settings = fe->settings();
  if (settings->discovery.kubeconfig.empty()) return {};
  std::string why;
  auto kc = load_kubeconfig(settings->discovery.kubeconfig, &why);
  if (!kc) return "frontend " + fe->name() + ": discovery: " + why;
  const auto it = bound_.find({fe->name(), settings->listen.front()});
  if (it == bound_.end() || it->second.empty()) return "frontend " + fe->name() + ": discovery: no listener to connect to";
  auto e = it->second.front();
  if (e.address().is_unspecified())
    e.address(e.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                  : asio::ip::address(asio::ip::address_v4::loopback()));
  const std::string name = fe->name();
  auto d = std::make_unique<Discovery>(
      main_, name, HostPort{e.address().to_string(), e.port()}, settings->discovery, std::move(*kc),
      [this, name](const std::vector<HostPort>& set) { apply_discovered(name, set); },
      [this, name](const std::string& error) { on_discovery_error(name, error); });
  d->start();
  log::info("discovery_started", {{"frontend", name}, {"kubeconfig", settings->discovery.kubeconfig},
                                  {"through", endpoint_text(e)}});
  discoveries_.push_back(std::move(d));
  return {};
}

void ProxyServer::apply_discovered(const std::string& frontend, const std::vector<HostPort>& set) {
  if (stopping_) return;
  auto file_fe = std::find_if(config_.frontends.begin(), config_.frontends.end(),
                              [&](const auto& f) { return f.name == frontend; });
  if (file_fe == config_.frontends.end()) return;
  if (set.empty()) {  // never drop to zero: an empty list is a broken API, not a cluster without apiservers
    log::warn("discovery_empty", {{"frontend", frontend}, {"action", "kept the current backends"}});
    return;
  }
  auto same = [&](const std::vector<HostPort>& a) {
    return a.size() == set.size() && std::equal(a.begin(), a.end(), set.begin(), [](const auto& x, const auto& y) {
             return x.host == y.host && x.port == y.port;
           });
  };
  auto known = learned_.find(frontend);
  const bool changed = known == learned_.end() || !same(known->second);
  const auto current = std::find_if(frontends_.begin(), frontends_.end(), [&](const auto& f) { return f->name() == frontend; });
  const bool applied = current != frontends_.end() && (*current)->backends().snapshot()->size() == set.size();
  if (!changed && applied) return;
  learned_[frontend] = set;
  const auto next = with_backends(*file_fe, set);
  std::string names;
  for (const auto& b : next.backends) names += (names.empty() ? "" : ",") + b.address;
  if (auto e = apply_frontend(next); !e.empty()) log::error("discovery_apply_failed", {{"frontend", frontend}, {"error", e}});
  log::info("discovery_backends", {{"frontend", frontend}, {"backends", names}});
  if (const auto& file = file_fe->discovery.state_file; !file.empty() && changed)
    if (auto e = save_state(file, frontend, set); !e.empty())
      log::error("discovery_state_write_failed", {{"frontend", frontend}, {"error", e}});
}

// The API is unreachable: keep what we know; if none of it is up any more, add the
// static backends back (the fallback) so that discovery itself can get through again.
void ProxyServer::on_discovery_error(const std::string& frontend, const std::string& why) {
  log::warn("discovery_failed", {{"frontend", frontend}, {"error", why}, {"action", "kept the current backends"}});
  if (stopping_) return;
  auto fe = std::find_if(frontends_.begin(), frontends_.end(), [&](const auto& f) { return f->name() == frontend; });
  auto file_fe = std::find_if(config_.frontends.begin(), config_.frontends.end(),
                              [&](const auto& f) { return f.name == frontend; });
  if (fe == frontends_.end() || file_fe == config_.frontends.end()) return;
  const auto list = (*fe)->backends().snapshot();
  if (std::any_of(list->begin(), list->end(), [](const auto& b) { return b->up(); })) return;
  auto next = with_backends(*file_fe, {});
  next.backends = file_fe->backends;
  for (const auto& b : *list)
    if (std::none_of(next.backends.begin(), next.backends.end(), [&](const auto& s) {
          auto a = parse_host_port(s.address);
          return a && a->host == b->address().host && a->port == b->address().port;
        }))
      next.backends.push_back({b->name(), b->address().to_string()});
  if (next.backends.size() == list->size()) return;  // the static ones are there already
  log::warn("discovery_fallback", {{"frontend", frontend}, {"action", "added the static backends back"}});
  (void)apply_frontend(next);
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

std::string ProxyServer::bind_listener(const proxy::FrontendPtr& fe, const std::string& text) {
  std::string error;
  const auto endpoints = resolve_listen(main_, text, &error);
  if (endpoints.empty()) return "frontend " + fe->name() + ": listen " + error;
  auto& owned = listen_fds_[{fe->name(), text}];
  for (const auto& e : endpoints) {
    const std::string where = endpoint_text(e);
    auto fail = [&](std::error_code ec) { return "frontend " + fe->name() + ": cannot listen on " + where + ": " + ec.message(); };
    std::vector<int> fds;
    if (auto it = inherited_.find(where); it != inherited_.end()) {
      fds = std::move(it->second);  // the old process's sockets: the same accept queues, nothing refused
      inherited_.erase(it);
    } else if (auto ec = probe_exclusive(main_, e)) {
      return fail(ec);
    }
    if (fds.empty()) {  // one socket (an older process may hand over several)
      std::error_code ec;
      const int fd = open_listener(e, &ec);
      if (fd < 0) return fail(ec);
      fds.push_back(fd);
    }
    for (const int fd : fds) {
      owned.emplace_back(where, fd);
      for (auto& worker : workers_) {  // each worker its own descriptor, closed on its thread
        const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return fail(std::error_code(errno, std::system_category()));
        worker->listen(fe, e, dup);
      }
    }
  }
  bound_[{fe->name(), text}] = endpoints;
  return {};
}

void ProxyServer::close_listen_fds() {
  for (auto& [_, fds] : listen_fds_)
    for (auto& [where, fd] : fds) ::close(fd);
  listen_fds_.clear();
}

std::string ProxyServer::enable_takeover(const std::string& path) {
  TakeoverServer::Hooks hooks;
  hooks.listeners = [this] {
    std::vector<std::pair<std::string, int>> out;
    for (const auto& [_, fds] : listen_fds_) out.insert(out.end(), fds.begin(), fds.end());
    return out;
  };
  // The new process binds the admin address itself: free it before it starts.
  hooks.before_handoff = [this] { admin_.stop(); };
  hooks.after_handoff = [this](bool served) {
    if (served) {
      asio::co_spawn(main_, shutdown("takeover"), log::CoroutineEnd{"shutdown"});
      return;
    }
    if (auto e = admin_.start(config_.admin.listen, admin_routes()); !e.empty())
      log::error("admin_restart_failed", {{"error", e}});
  };
  takeover_ = std::make_unique<TakeoverServer>(main_, path, std::move(hooks));
  return takeover_->start();
}

void ProxyServer::unbind_listener(const std::string& frontend, const std::string& text) {
  auto it = bound_.find({frontend, text});
  if (it == bound_.end()) return;
  for (const auto& e : it->second)
    for (auto& w : workers_) w->stop_accepting(e);
  bound_.erase(it);
  if (auto fds = listen_fds_.find({frontend, text}); fds != listen_fds_.end()) {
    // The workers close their duplicates (later, on their threads); ours keep the sockets
    // open for the frontend that may take the address in the same reload.
    for (auto& [where, fd] : fds->second) inherited_[where].push_back(fd);
    listen_fds_.erase(fds);
  }
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
                        {"frontends", std::to_string(frontends_.size())}, {"listeners", std::to_string(listeners)},
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
  close_listen_fds();  // after a takeover the new process still holds the sockets
  if (takeover_) takeover_->stop();
  for (auto& d : discoveries_) d->stop();
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
