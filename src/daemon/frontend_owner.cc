// FrontendOwner: one frontend's control-plane state and its apply() (frontend_owner.h).
#include "daemon/frontend_owner.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "config/diff.h"
#include "config/validate.h"
#include "daemon/listen_socket.h"
#include "pool/reconcile.h"

namespace kha::daemon {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string backend_name(const config::Backend& b) { return b.name.empty() ? b.address : b.name; }

// A removed backend takes no new session (Backend::removed); its sessions drain up to
// drain_timeout, then are closed.
asio::awaitable<void> drain_then_close(OwnerContext& context, pool::BackendPtr backend) {
  const auto deadline = Clock::now() + context.drain_timeout();
  asio::steady_timer tick(context.main);
  asio::error_code ec;
  while (backend->stats().active_sessions.load() > 0 && Clock::now() < deadline && !context.stopping) {
    tick.expires_after(std::chrono::milliseconds(100));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  const auto left = backend->stats().active_sessions.load();
  log::info("backend_retired", {{"backend", backend->name()}, {"sessions_left", std::to_string(left)},
                                {"action", left > 0 ? "closing them (drain_timeout reached)" : "drained"}});
  if (left > 0)
    for (auto& w : context.workers) w->close_sessions_of(backend, std::chrono::milliseconds(0));  // past the drain bound
}

// A backend that went silent (probe timeouts, or clients that got no first byte) holds
// sessions that are stalled already: closing them at once is what their clients need, and
// every node detects a silent backend at its own moment (its check phase, its traffic).
// A backend that answered "no" (not ready, refused, TLS alert) still serves its sessions:
// those closes are spread (close_on_down_spread) so that the fleet's reconnects are too.
bool went_silent(const health::Outcome& outcome) {
  return outcome.layer == health::Layer::Timeout || outcome.layer == health::Layer::Passive;
}

void join(std::string* out, std::string_view part) {
  if (!out->empty()) *out += ", ";
  *out += part;
}

}  // namespace

FrontendOwner::FrontendOwner(OwnerContext& context, std::string name) : context_(context), name_(std::move(name)) {
  applied_.name = name_;  // nothing applied yet: the first apply adds every listener and backend
  health_ = std::make_shared<BackendHealth>(context_.main, [this](const pool::BackendPtr& b, const health::Transition& t) {
    const auto configured = runtime_ ? runtime_->settings()->close_on_down_spread : config::Frontend{}.close_on_down_spread;
    const auto spread = went_silent(t.outcome) ? std::chrono::milliseconds(0) : configured;
    for (auto& w : context_.workers) w->close_sessions_of(b, spread);
  });
  health_->on_outcome = [&context](const std::string& f, const std::string& b, const health::Outcome& o) {
    if (context.on_outcome) context.on_outcome(f, b, o);
  };
  health_->on_transition = [&context](const std::string& f, const std::string& b, const health::Transition& t) {
    if (context.on_transition) context.on_transition(f, b, t);
  };
  health_->start();  // checkers run once the main loop does
}

FrontendOwner::~FrontendOwner() {
  if (rebalance_timer_) rebalance_timer_->cancel();
  stop_discovery();
  health_->stop();
  close_listen_fds();
}

std::string FrontendOwner::configure(const config::Frontend& from_file, std::string_view cause) {
  const bool first = !runtime_;
  from_file_ = from_file;
  if (first && !from_file.discovery.state_file.empty()) {
    // Discovery's state file, when there is a good one, replaces the static seed.
    std::string why;
    if (auto state = load_state(from_file.discovery.state_file, &why)) {
      learned_ = *state;
      log::info("discovery_state_loaded", {{"frontend", name_}, {"file", from_file.discovery.state_file},
                                           {"backends", std::to_string(state->size())}});
    } else if (!why.empty()) {
      log::warn("discovery_state_ignored",
                {{"frontend", name_}, {"error", why}, {"action", "starting from the static backends"}});
    }
  }
  // A frontend whose backends discovery learned keeps them; the file's are the seed.
  if (!first && from_file.discovery.kubeconfig.empty()) learned_.reset();
  return apply(learned_ ? with_backends(*learned_) : from_file, cause);
}

std::string FrontendOwner::apply(const config::Frontend& desired, std::string_view cause) {
  const bool first = !runtime_;
  const config::FrontendDiff d = config::diff(applied_, desired);
  auto settings = std::make_shared<const config::Frontend>(desired);
  if (first) {
    runtime_ = std::make_shared<proxy::FrontendRuntime>(settings, pool::BackendList{});
    (void)health_->add(runtime_);  // no backend yet: hooks the passive-failure path only
    start_rebalancing();
  } else {
    runtime_->set_settings(settings);  // the next session reads the new snapshot
  }
  std::string error, rebuilt, detail;
  auto note = [&](std::string e) {
    if (!e.empty() && error.empty()) error = std::move(e);
  };

  // Checkers: new ones for the kept backends (each keeps its up/down state until the
  // new checker decides); sessions are not touched. Added backends get theirs below.
  if (d.checks_changed && !first) {
    for (const auto& b : *runtime_->backends().snapshot()) note(health_->add_backend(runtime_, b));
    join(&rebuilt, "checkers");
  }

  // Backends: add and drain only those that changed.
  if (const std::string change = reconcile_backends(desired, first, &error); !change.empty()) {
    join(&rebuilt, "backends");
    join(&detail, "backends " + change);
  }

  // Listeners: only those that changed are unbound or bound; after the backends, so
  // that a new listener never serves an empty set.
  if (d.listeners_touched()) {
    std::string change;
    for (const auto& address : d.listeners_removed) {
      unbind(address);
      change += " -" + address;
    }
    for (const auto& address : d.listeners_added) {
      bool adopted = false;
      bool waiting = false;
      for (const auto& text : desired.listen)
        if (config::normalise_address(text) == address) {
          std::error_code failed;
          std::string e = bind(text, &adopted, &failed);
          // At start only: the old proxy still holds the port (--bind-retry); a reload reports it.
          waiting = first && is_address_in_use(failed) && context_.bind_retry.count() > 0 &&
                    listeners_[address].fds.empty();
          if (waiting) {
            listeners_.erase(address);
            wait_to_bind(text);
          } else {
            note(std::move(e));
          }
          break;
        }
      change += " +" + address + (adopted ? "(adopted)" : waiting ? "(waiting)" : "");
    }
    join(&rebuilt, "listeners");
    join(&detail, "listeners" + change);
  }

  // Discovery connects through the first listener: restart it when that moves.
  const bool through_moved = desired.listen.empty() || applied_.listen.empty() ||
                             config::normalise_address(desired.listen.front()) !=
                                 config::normalise_address(applied_.listen.front());
  if (d.discovery_changed || (discovery_ && through_moved)) {
    stop_discovery();
    note(start_discovery(desired));
    join(&rebuilt, "discovery");
  }
  if (d.data_path_changed && !first) join(&rebuilt, "settings");
  if (!d.settings_changed.empty() && !first) {
    std::string keys;
    for (const auto& k : d.settings_changed) keys += " " + k;
    join(&detail, "settings" + keys);
  }
  applied_ = desired;
  if (rebuilt.empty()) {
    log::debug("frontend_unchanged", {{"frontend", name_}, {"cause", std::string(cause)}});
  } else {
    rebuilt.erase(std::remove(rebuilt.begin(), rebuilt.end(), ' '), rebuilt.end());
    log::info("frontend_applied",
              {{"frontend", name_}, {"cause", std::string(cause)}, {"rebuilt", rebuilt}, {"changes", detail}});
  }
  return error;
}

std::string FrontendOwner::reconcile_backends(const config::Frontend& desired, bool first, std::string* error) {
  const auto current = runtime_->backends().snapshot();
  std::vector<pool::BackendKey> have, want;
  for (const auto& b : *current) have.push_back({b->name(), b->address()});
  for (const auto& b : desired.backends)
    want.push_back({backend_name(b), parse_host_port(b.address).value_or(HostPort{})});
  const auto r = pool::reconcile(have, want);
  if (!r.changes_anything(current->size())) return {};
  pool::BackendList next;
  std::string change;
  for (const auto& slot : r.next) {
    if (slot.current != pool::Reconciled::kAdd) {
      next.push_back((*current)[slot.current]);
      continue;
    }
    const auto& key = want[slot.desired];
    auto fresh = std::make_shared<pool::Backend>(key.name, key.address);
    // At start every backend serves until its checker decides (nothing else would);
    // one added later joins after its first check.
    fresh->set_up(first);
    if (auto e = health_->add_backend(runtime_, fresh); !e.empty() && error->empty()) *error = e;
    next.push_back(std::move(fresh));
    change += " +" + key.name;
  }
  for (const std::size_t i : r.drain) {
    retire_backend((*current)[i]);
    change += " -" + (*current)[i]->name();
  }
  runtime_->backends().replace(std::move(next));
  return change.empty() ? "reordered" : change.substr(1);
}

void FrontendOwner::retire_backend(const pool::BackendPtr& backend) {
  backend->mark_removed();
  health_->remove_backend(backend.get());
  asio::co_spawn(context_.main, drain_then_close(context_, backend), log::CoroutineEnd{"drain"});
}

void FrontendOwner::retire() {
  if (rebalance_timer_) rebalance_timer_->cancel();
  release_listeners({});
  stop_discovery();
  if (runtime_)
    for (const auto& b : *runtime_->backends().snapshot()) retire_backend(b);
  log::info("frontend_applied", {{"frontend", name_}, {"cause", "reload"}, {"rebuilt", "retired"},
                                 {"changes", "frontend removed"}});
}

void FrontendOwner::release_listeners(const std::vector<std::string>& keep) {
  std::vector<std::string> kept;
  for (const auto& k : keep) kept.push_back(config::normalise_address(k));
  std::vector<std::string> going;
  for (const auto& [address, _] : listeners_)
    if (std::find(kept.begin(), kept.end(), address) == kept.end()) going.push_back(address);
  for (const auto& address : going) unbind(address);
}

std::string FrontendOwner::bind(const std::string& text, bool* adopted, std::error_code* failed) {
  std::string error;
  const auto endpoints = resolve_listen(context_.main, text, &error);
  if (endpoints.empty()) return "frontend " + name_ + ": listen " + error;
  Listener& l = listeners_[config::normalise_address(text)];
  l.text = text;
  for (const auto& e : endpoints) {
    const std::string where = endpoint_text(e);
    auto fail = [&](std::error_code ec) {
      if (failed) *failed = ec;
      return "frontend " + name_ + ": cannot listen on " + where + ": " + ec.message();
    };
    std::vector<int> fds;
    if (auto it = context_.parked.find(where); it != context_.parked.end()) {
      fds = std::move(it->second);  // the old process's sockets: the same accept queues, nothing refused
      context_.parked.erase(it);
      *adopted = true;
    } else if (auto ec = probe_exclusive(context_.main, e)) {
      return fail(ec);
    }
    if (fds.empty()) {  // one socket (an older process may hand over several)
      std::error_code ec;
      const int fd = open_listener(e, &ec);
      if (fd < 0) return fail(ec);
      fds.push_back(fd);
    }
    l.endpoints.push_back(e);
    for (const int fd : fds) {
      l.fds.emplace_back(where, fd);
      for (auto& worker : context_.workers) {  // each worker its own descriptor, closed on its thread
        const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return fail(std::error_code(errno, std::system_category()));
        worker->listen(runtime_, e, dup);
      }
    }
  }
  return {};
}

void FrontendOwner::unbind(const std::string& address) {
  auto it = listeners_.find(address);
  if (it == listeners_.end()) return;
  for (const auto& e : it->second.endpoints)
    for (auto& w : context_.workers) w->stop_accepting(e);
  // The workers close their duplicates (later, on their threads); ours wait, parked, for
  // the frontend that may take the address in the same reload (reload closes the rest).
  for (auto& [where, fd] : it->second.fds) context_.parked[where].push_back(fd);
  listeners_.erase(it);
}

void FrontendOwner::collect_listen_fds(std::vector<std::pair<std::string, int>>* out) const {
  for (const auto& [_, l] : listeners_) out->insert(out->end(), l.fds.begin(), l.fds.end());
}

void FrontendOwner::close_listen_fds() {
  for (auto& [_, l] : listeners_) {
    for (auto& [where, fd] : l.fds) ::close(fd);
    l.fds.clear();
  }
}

}  // namespace kha::daemon
