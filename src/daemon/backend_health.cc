// BackendHealth: one frontend's checkers and what their transitions do (backend_health.h).
#include "daemon/backend_health.h"

#include "common/log.h"

namespace kha::daemon {

using asio::ip::tcp;

namespace {

// True when the frontend has backends and every one of them is down (the proxy then
// tries them all); false for a frontend that is gone.
bool all_down(const proxy::FrontendPtr& frontend) {
  if (!frontend) return false;
  const auto list = frontend->backends().snapshot();
  if (list->empty()) return false;
  for (const auto& b : *list)
    if (b->up()) return false;
  return true;
}

}  // namespace

std::string BackendHealth::add(const proxy::FrontendPtr& frontend) {
  for (const auto& backend : *frontend->backends().snapshot())
    if (auto error = add_backend(frontend, backend); !error.empty()) return error;
  std::weak_ptr<BackendHealth> self = weak_from_this();
  frontend->passive_failure = [self, &main = main_](const pool::BackendPtr& backend, const std::string& reason) {
    // Workers call this on their own threads. entries_ belongs to the main thread
    // (reload and discovery change it there), so the report is queued to it and
    // looked up there: workers never touch a control-plane container (the thread
    // rule, proxy/frontend_runtime.h). Weak: the frontend may be gone by then.
    asio::post(main, [self, backend, reason] {
      if (auto health = self.lock())
        if (auto c = health->checker(backend.get()))
          c->report_passive_failure(health::Outcome::failure(health::Layer::Passive, reason));
    });
  };
  return {};
}

std::string BackendHealth::add_backend(const proxy::FrontendPtr& frontend, const pool::BackendPtr& backend) {
  const auto settings = frontend->settings();
  const auto& addr = backend->address();
  asio::error_code ec;
  tcp::endpoint endpoint;
  if (auto ip = asio::ip::make_address(addr.host, ec); !ec) {
    endpoint = tcp::endpoint(ip, addr.port);
  } else {
    tcp::resolver resolver(main_);
    auto results = resolver.resolve(addr.host, std::to_string(addr.port), ec);
    if (ec || results.empty())
      return "frontend " + frontend->name() + ": backend " + backend->name() + ": cannot resolve '" + addr.host +
             "': " + ec.message();
    endpoint = results.begin()->endpoint();
  }
  std::weak_ptr<pool::Backend> weak = backend;
  const std::string frontend_name = frontend->name();
  const auto kind = settings->health.kind;
  const bool close_on_down = settings->close_sessions_on_down;
  if (kind == config::CheckKind::None) backend->set_up(true);
  std::weak_ptr<proxy::FrontendRuntime> weak_frontend = frontend;
  auto checker = health::Checker::create(
      main_.get_executor(), settings->health, endpoint, addr.host,
      [this, weak, weak_frontend, frontend_name, kind, close_on_down](const health::Transition& t) {
        auto b = weak.lock();
        if (!b) return;
        const bool was_all_down = all_down(weak_frontend.lock());
        b->set_up(t.to != health::State::Down);
        health::log_transition(frontend_name, b->name(), kind, t);
        const bool now_all_down = all_down(weak_frontend.lock());
        if (now_all_down && !was_all_down)
          log::warn("all_backends_down", {{"frontend", frontend_name}, {"action", "trying every backend, ignoring health"}});
        else if (was_all_down && !now_all_down)
          log::info("backend_available", {{"frontend", frontend_name}, {"backend", b->name()}});
        if (on_transition) on_transition(frontend_name, b->name(), t);
        if (t.to == health::State::Down && t.from == health::State::Up && close_on_down) on_down_(b);
      });
  const pool::Backend* key = backend.get();
  checker->set_on_outcome([this, key, frontend_name, name = backend->name()](const health::Outcome& o) {
    auto it = entries_.find(key);
    if (it != entries_.end()) it->second.last_outcome_at = std::chrono::steady_clock::now();
    if (on_outcome) on_outcome(frontend_name, name, o);
  });
  if (started_) checker->start();
  remove_backend(key);
  entries_[key] = Entry{backend, std::move(checker), std::nullopt};
  return {};
}

void BackendHealth::remove_backend(const pool::Backend* backend) {
  auto it = entries_.find(backend);
  if (it == entries_.end()) return;
  it->second.checker->stop();
  entries_.erase(it);
}

void BackendHealth::start() {
  started_ = true;
  for (auto& [_, e] : entries_) e.checker->start();
}

void BackendHealth::stop() {
  for (auto& [_, e] : entries_) e.checker->stop();
}

bool BackendHealth::first_round_done() const {
  for (const auto& [_, e] : entries_)
    if (e.checker->state() == health::State::Unknown) return false;
  return true;
}

std::optional<std::chrono::steady_clock::time_point> BackendHealth::last_outcome_at(const pool::Backend* b) const {
  auto it = entries_.find(b);
  return it == entries_.end() ? std::nullopt : it->second.last_outcome_at;
}

std::shared_ptr<health::Checker> BackendHealth::checker(const pool::Backend* backend) const {
  auto it = entries_.find(backend);
  return it == entries_.end() ? nullptr : it->second.checker;
}

}  // namespace kha::daemon
