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
  const auto& addr = backend->address();
  asio::error_code ec;
  if (auto ip = asio::ip::make_address(addr.host, ec); !ec) {
    start_checker(frontend, backend, tcp::endpoint(ip, addr.port));
    return {};
  }
  // A name: getaddrinfo blocks, and the main loop runs every checker, discovery and
  // the admin endpoint, so it must not wait on DNS. Asio's resolver runs getaddrinfo
  // on a thread of its own and completes here, on the main thread. Until then the
  // backend has an entry without a checker; a reload or removal meanwhile replaces
  // the entry, and the late answer (another ticket) is dropped.
  const pool::Backend* key = backend.get();
  remove_backend(key);
  const std::uint64_t ticket = ++tickets_;
  entries_[key] = Entry{backend, nullptr, std::nullopt, ticket};
  auto resolver = std::make_shared<tcp::resolver>(main_);
  std::weak_ptr<BackendHealth> self = weak_from_this();
  std::weak_ptr<proxy::FrontendRuntime> weak_frontend = frontend;
  std::weak_ptr<pool::Backend> weak_backend = backend;
  resolver->async_resolve(
      addr.host, std::to_string(addr.port),
      [resolver, self, weak_frontend, weak_backend, ticket](const asio::error_code& error,
                                                            const tcp::resolver::results_type& results) {
        auto health = self.lock();
        auto fe = weak_frontend.lock();
        auto b = weak_backend.lock();
        if (!health || !fe || !b || health->stopped_) return;
        auto it = health->entries_.find(b.get());
        if (it == health->entries_.end() || it->second.ticket != ticket) return;  // replaced or removed meanwhile
        if (!error && !results.empty()) return health->start_checker(fe, b, results.begin()->endpoint());
        it->second.resolve_failed = true;
        b->set_up(false);  // unchecked and unreachable: no new session is sent there while others are up
        log::warn("backend_resolve_failed",
                  {{"frontend", fe->name()}, {"backend", b->name()}, {"host", b->address().host},
                   {"error", error ? error.message() : "no address"}, {"action", "retrying in 1s"}});
        auto retry = std::make_shared<asio::steady_timer>(health->main_, std::chrono::seconds(1));
        retry->async_wait([retry, self, weak_frontend, weak_backend, ticket](const asio::error_code& waited) {
          auto h = self.lock();
          auto f = weak_frontend.lock();
          auto bb = weak_backend.lock();
          if (waited || !h || !f || !bb || h->stopped_) return;
          auto e = h->entries_.find(bb.get());
          if (e != h->entries_.end() && e->second.ticket == ticket) (void)h->add_backend(f, bb);
        });
      });
  return {};
}

void BackendHealth::start_checker(const proxy::FrontendPtr& frontend, const pool::BackendPtr& backend,
                                  const tcp::endpoint& endpoint) {
  const auto settings = frontend->settings();
  const auto& addr = backend->address();
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
        // Slow start for a backend that comes back, or joins a running frontend (added
        // down, until this first check); not for those kha started with (already up).
        if (t.to == health::State::Up && (t.from == health::State::Down || !b->up()))
          b->start_ramp(std::chrono::steady_clock::now());
        b->set_up(t.to != health::State::Down);
        health::log_transition(frontend_name, b->name(), kind, t);
        const bool now_all_down = all_down(weak_frontend.lock());
        if (now_all_down && !was_all_down)
          log::warn("all_backends_down", {{"frontend", frontend_name}, {"action", "trying every backend, ignoring health"}});
        else if (was_all_down && !now_all_down)
          log::info("backend_available", {{"frontend", frontend_name}, {"backend", b->name()}});
        if (on_transition) on_transition(frontend_name, b->name(), t);
        if (t.to == health::State::Down && t.from == health::State::Up && close_on_down) on_down_(b, t);
      });
  const pool::Backend* key = backend.get();
  checker->set_on_outcome([this, key, frontend_name, name = backend->name()](const health::Outcome& o) {
    auto it = entries_.find(key);
    if (it != entries_.end()) it->second.last_outcome_at = std::chrono::steady_clock::now();
    if (on_outcome) on_outcome(frontend_name, name, o);
  });
  if (started_) checker->start();
  remove_backend(key);
  entries_[key] = Entry{backend, std::move(checker), std::nullopt, ++tickets_};
}

void BackendHealth::remove_backend(const pool::Backend* backend) {
  auto it = entries_.find(backend);
  if (it == entries_.end()) return;
  if (it->second.checker) it->second.checker->stop();
  entries_.erase(it);
}

void BackendHealth::start() {
  started_ = true;
  for (auto& [_, e] : entries_)
    if (e.checker) e.checker->start();
}

void BackendHealth::stop() {
  stopped_ = true;
  for (auto& [_, e] : entries_)
    if (e.checker) e.checker->stop();
}

bool BackendHealth::first_round_done() const {
  for (const auto& [_, e] : entries_) {
    if (e.resolve_failed) continue;  // decided: down until its name resolves
    if (!e.checker || e.checker->state() == health::State::Unknown) return false;
  }
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
