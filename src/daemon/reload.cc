// Reload (SIGHUP): read the config file again, validate it aside, and apply only
// the difference in-process. Kept backends keep their Backend object, so their
// health state and open sessions are untouched; added backends join after their
// first check; removed ones take no new session and their sessions drain up to
// drain_timeout, then are closed. A config that fails validation changes nothing.
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "config/diff.h"
#include "config/loader.h"
#include "daemon/proxy_server.h"

namespace kha::daemon {

using Clock = std::chrono::steady_clock;

std::vector<std::string> ProxyServer::reload() {
  notify_.reloading();
  const auto begun = Clock::now();
  auto done = [&](bool ok) {
    admin_.metrics().reloads.with({ok ? "ok" : "failed"})->inc();
    notify_.ready();
  };
  if (stopping_) return {"shutting down, reload ignored"};
  if (config_.source == "<flags>") {
    log::warn("reload_ignored", {{"reason", "started from flags, no config file to read"}});
    done(false);
    return {"started from flags, no config file to read"};
  }
  auto loaded = config::load_config_file(config_.source);
  if (!loaded) {
    const auto& errors = loaded.errors();
    log::error("reload_failed", {{"config", config_.source}, {"problems", std::to_string(errors.size())},
                                 {"first", errors.front().to_string()}, {"action", "kept the running config"}});
    std::vector<std::string> problems;
    for (const auto& d : errors) {
      log::error("reload_problem", {{"problem", d.to_string()}});
      problems.push_back(d.to_string());
    }
    done(false);
    return problems;
  }
  config::Config next = std::move(loaded).value();
  const config::ConfigDiff d = config::diff(config_, next);
  for (const auto& key : d.settings_changed)
    if (key == "workers" || key == "splice" || key == "admin.listen" || key == "log_format")
      log::warn("reload_needs_restart", {{"key", key}, {"action", "kept the running value"}});

  std::string error;
  // Listeners leave first, every frontend's, so that an address can move to any other
  // frontend whichever the file lists first. The sockets wait in inherited_ for the
  // frontend that takes the address: its accept queue carries over, no client is refused.
  for (const auto& name : d.frontends_removed) retire_frontend(name);
  for (const auto& f : next.frontends)
    for (const auto& fe : frontends_)
      if (fe->name() == f.name)
        for (const auto& l : fe->settings()->listen)
          if (std::find(f.listen.begin(), f.listen.end(), l) == f.listen.end()) unbind_listener(f.name, l);
  for (const auto& f : next.frontends) {
    // A frontend whose backends discovery learned keeps them; the file's are the seed.
    auto learned = learned_.find(f.name);
    const bool discovered = !f.discovery.kubeconfig.empty() && learned != learned_.end();
    if (auto e = apply_frontend(discovered ? with_backends(f, learned->second) : f); !e.empty() && error.empty())
      error = e;
  }
  for (auto& [where, fds] : inherited_)  // addresses no frontend took
    for (int fd : fds) ::close(fd);
  inherited_.clear();

  // Keep what cannot change live; take the rest.
  next.workers = config_.workers;
  next.splice = config_.splice;
  next.admin = config_.admin;
  next.log_format = config_.log_format;
  config_ = std::move(next);
  apply_session_cap();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begun);
  if (!error.empty()) {
    log::error("reload_partial", {{"error", error}, {"changes", d.summary()}});
    done(false);
    return {error};
  }
  log::info("reloaded", {{"config", config_.source}, {"changes", d.summary()}, {"took", format_duration(took)}});
  done(true);
  return {};
}

// Adds `next` or brings the running frontend of that name to it.
std::string ProxyServer::apply_frontend(const config::Frontend& next) {
  auto settings = std::make_shared<const config::Frontend>(next);
  auto it = std::find_if(frontends_.begin(), frontends_.end(), [&](const auto& f) { return f->name() == next.name; });
  if (it == frontends_.end()) {
    pool::BackendList backends;
    for (const auto& b : next.backends)
      backends.push_back(std::make_shared<pool::Backend>(b.name, parse_host_port(b.address).value_or(HostPort{})));
    auto fe = std::make_shared<proxy::FrontendRuntime>(settings, std::move(backends));
    frontends_.push_back(fe);
    if (auto e = health_.add(fe); !e.empty()) return e;
    for (const auto& l : next.listen)
      if (auto e = bind_listener(fe, l); !e.empty()) return e;
    return {};
  }
  auto fe = *it;
  const auto old = fe->settings();
  const bool checks_changed = old->health.kind != next.health.kind || old->health.interval != next.health.interval ||
                              old->health.timeout != next.health.timeout || old->health.rise != next.health.rise ||
                              old->health.fall != next.health.fall || old->health.path != next.health.path ||
                              old->health.expect_status != next.health.expect_status ||
                              old->health.transition_interval != next.health.transition_interval ||
                              old->health.down_interval != next.health.down_interval ||
                              old->health.tls.verify != next.health.tls.verify ||
                              old->health.tls.ca_file != next.health.tls.ca_file ||
                              old->health.tls.cert_file != next.health.tls.cert_file ||
                              old->close_sessions_on_down != next.close_sessions_on_down;
  fe->set_settings(settings);

  // Listeners: reload() has removed those that go; discovery never changes them.
  std::string error;
  for (const auto& l : next.listen)
    if (std::find(old->listen.begin(), old->listen.end(), l) == old->listen.end())
      if (auto e = bind_listener(fe, l); !e.empty() && error.empty()) error = e;

  // Backends by name; a changed address is a new backend.
  const auto current = fe->backends().snapshot();
  pool::BackendList kept_and_new;
  for (const auto& b : next.backends) {
    const auto address = parse_host_port(b.address).value_or(HostPort{});
    auto found = std::find_if(current->begin(), current->end(), [&](const auto& c) {
      return c->name() == b.name && c->address().host == address.host && c->address().port == address.port;
    });
    if (found != current->end()) {
      kept_and_new.push_back(*found);
      if (checks_changed)  // a new checker; the backend keeps its up/down state until it decides
        if (auto e = health_.add_backend(fe, *found); !e.empty() && error.empty()) error = e;
      continue;
    }
    auto fresh = std::make_shared<pool::Backend>(b.name, address);
    fresh->set_up(false);  // joins after its first check
    kept_and_new.push_back(fresh);
    if (auto e = health_.add_backend(fe, fresh); !e.empty() && error.empty()) error = e;
  }
  for (const auto& c : *current)
    if (std::find(kept_and_new.begin(), kept_and_new.end(), c) == kept_and_new.end()) retire_backend(c);
  fe->backends().replace(std::move(kept_and_new));
  return error;
}

void ProxyServer::retire_frontend(const std::string& name) {
  auto it = std::find_if(frontends_.begin(), frontends_.end(), [&](const auto& f) { return f->name() == name; });
  if (it == frontends_.end()) return;
  auto fe = *it;
  for (const auto& l : fe->settings()->listen) unbind_listener(name, l);
  for (const auto& b : *fe->backends().snapshot()) retire_backend(b);
  frontends_.erase(it);  // sessions hold the runtime until they end
}

void ProxyServer::retire_backend(const pool::BackendPtr& backend) {
  backend->mark_removed();
  health_.remove_backend(backend.get());
  asio::co_spawn(main_, drain_then_close(backend), log::CoroutineEnd{"drain"});
}

asio::awaitable<void> ProxyServer::drain_then_close(pool::BackendPtr backend) {
  const auto deadline = Clock::now() + config_.drain_timeout;
  asio::steady_timer tick(main_);
  asio::error_code ec;
  while (backend->stats().active_sessions.load() > 0 && Clock::now() < deadline && !stopping_) {
    tick.expires_after(std::chrono::milliseconds(100));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  const auto left = backend->stats().active_sessions.load();
  log::info("backend_retired", {{"backend", backend->name()}, {"sessions_left", std::to_string(left)},
                                {"action", left > 0 ? "closing them (drain_timeout reached)" : "drained"}});
  if (left > 0)
    for (auto& w : workers_) w->close_sessions_of(backend);
}

}  // namespace kha::daemon
