// Reload (SIGHUP, POST /reload): read the config file again, validate it aside, and
// hand each frontend's part to its owner, which applies only the difference
// (frontend_owner.h). Kept backends keep their Backend object, so their health state
// and open sessions are untouched; added backends join after their first check;
// removed ones take no new session and their sessions drain up to drain_timeout, then
// are closed. A config that fails validation changes nothing.
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
    admin_.on_config(/*reload=*/true, ok);
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
    if (key == "workers" || key == "splice" || key == "admin.listen" || key == "admin.metrics_listen" || key == "log_format")
      log::warn("reload_needs_restart", {{"key", key}, {"action", "kept the running value"}});

  std::string error;
  // Listeners leave first, every frontend's, so that an address can move to any other
  // frontend whichever the file lists first. The sockets wait, parked, for the frontend
  // that takes the address: its accept queue carries over, no client is refused.
  for (auto& [name, owner] : owners_) {
    auto f = std::find_if(next.frontends.begin(), next.frontends.end(), [&](const auto& x) { return x.name == name; });
    owner->release_listeners(f == next.frontends.end() ? std::vector<std::string>{} : f->listen);
  }
  for (const auto& name : d.frontends_removed) {
    if (auto it = owners_.find(name); it != owners_.end()) {
      it->second->retire();
      owners_.erase(it);  // sessions hold the runtime and their backends until they end
    }
  }
  // Then each frontend's owner applies its part of the file: only what changed is rebuilt.
  for (const auto& f : next.frontends) {
    auto& owner = owners_[f.name];
    if (!owner) owner = std::make_shared<FrontendOwner>(owner_context_, f.name);
    if (auto e = owner->configure(f, "reload"); !e.empty() && error.empty()) error = e;
  }
  close_parked("reload_listener_closed");  // addresses no frontend took

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

}  // namespace kha::daemon
