// BackendHealth: one frontend's checkers and what their transitions do (backend_health.h).
#include "daemon/backend_health.h"

#include "common/log.h"
#include "pool/resolution.h"

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
  const pool::Backend* key = backend.get();
  remove_backend(key);
  Entry& e = entries_[key];
  e.backend = backend;
  e.frontend = frontend;
  e.ticket = ++tickets_;
  asio::error_code ec;
  if (auto ip = asio::ip::make_address(addr.host, ec); !ec) {
    start_checker(frontend, backend, tcp::endpoint(ip, addr.port));
    return {};
  }
  // A name: getaddrinfo blocks, and the main loop runs every checker, discovery and
  // the admin endpoint, so it must not wait on DNS. Asio's resolver runs getaddrinfo
  // on a thread of its own and completes here, on the main thread (resolve_name). A
  // backend that resolved before (a reload restarting its checker) is checked at once
  // on what it resolved to, and resolved again now.
  e.resolve_timer = std::make_shared<asio::steady_timer>(main_);
  if (const auto known = backend->resolved(); !known->empty())
    start_checker(frontend, backend, tcp::endpoint(asio::ip::make_address(known->front()), addr.port));
  resolve_name(key, e.ticket);
  return {};
}

void BackendHealth::resolve_name(const pool::Backend* key, std::uint64_t ticket) {
  auto it = entries_.find(key);
  if (stopped_ || it == entries_.end() || it->second.ticket != ticket || it->second.resolving) return;
  auto backend = it->second.backend.lock();
  if (!backend) return;
  it->second.resolving = true;
  it->second.last_resolve = std::chrono::steady_clock::now();
  auto resolver = std::make_shared<tcp::resolver>(main_);
  std::weak_ptr<BackendHealth> self = weak_from_this();
  resolver->async_resolve(backend->address().host, std::to_string(backend->address().port),
                          [resolver, self, key, ticket](const asio::error_code& error,
                                                        const tcp::resolver::results_type& results) {
                            auto health = self.lock();
                            if (!health || health->stopped_) return;
                            std::vector<std::string> found;
                            if (!error)
                              for (const auto& r : results) found.push_back(r.endpoint().address().to_string());
                            health->resolved(key, ticket, std::move(found), error ? error.message() : "no address");
                          });
}

void BackendHealth::resolved(const pool::Backend* key, std::uint64_t ticket, std::vector<std::string> found,
                             const std::string& error) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.ticket != ticket) return;  // replaced or removed meanwhile
  Entry& e = it->second;
  e.resolving = false;
  auto b = e.backend.lock();
  auto fe = e.frontend.lock();
  if (!b || !fe) return;
  const auto previous = b->resolved();
  const pool::Resolution r = pool::judge_resolution(*previous, std::move(found));
  const std::string& fe_name = fe->name();
  const std::string& host = b->address().host;
  const auto interval = fe->settings()->resolve_interval;
  auto next = interval;
  switch (r.event) {
    case pool::ResolutionEvent::First:
    case pool::ResolutionEvent::Changed: {
      const bool first = r.event == pool::ResolutionEvent::First;
      if (first)
        log::info("backend_resolved", {{"frontend", fe_name}, {"backend", b->name()}, {"host", host},
                                       {"addresses", pool::join_addresses(r.publish)}});
      else
        log::warn("backend_address_changed",
                  {{"frontend", fe_name}, {"backend", b->name()}, {"host", host}, {"from", pool::join_addresses(*previous)},
                   {"to", pool::join_addresses(r.publish)}, {"action", "checking and connecting to the new addresses"}});
      if (r.dropped > 0)
        log::warn("backend_resolve_truncated", {{"frontend", fe_name}, {"backend", b->name()}, {"host", host},
                                                {"kept", std::to_string(r.publish.size())},
                                                {"dropped", std::to_string(r.dropped)}});
      b->set_resolved(r.publish);
      start_checker(fe, b, tcp::endpoint(asio::ip::make_address(r.publish.front()), b->address().port));
      break;
    }
    case pool::ResolutionEvent::Unchanged: break;
    case pool::ResolutionEvent::FailedKeeping:
      next = std::min<std::chrono::milliseconds>(interval, std::chrono::seconds(5));
      if (!e.resolve_failed)
        log::warn("backend_resolve_failed", {{"frontend", fe_name}, {"backend", b->name()}, {"host", host}, {"error", error},
                                             {"action", "keeping " + pool::join_addresses(*previous)}});
      break;
    case pool::ResolutionEvent::FailedNone:
      next = std::chrono::seconds(1);
      if (e.checker) e.checker->stop();
      e.checker = nullptr;
      b->set_up(false);  // unchecked and unreachable: no new session is sent there while others are up
      if (!e.resolve_failed)
        log::warn("backend_resolve_failed", {{"frontend", fe_name}, {"backend", b->name()}, {"host", host}, {"error", error},
                                             {"action", "retrying every 1s"}});
      break;
  }
  const bool failed = r.event == pool::ResolutionEvent::FailedKeeping || r.event == pool::ResolutionEvent::FailedNone;
  if (e.resolve_failed && !failed)
    log::info("backend_resolve_recovered", {{"frontend", fe_name}, {"backend", b->name()}, {"host", host},
                                            {"addresses", pool::join_addresses(*b->resolved())}});
  e.resolve_failed = failed;
  e.unresolved = r.event == pool::ResolutionEvent::FailedNone;
  schedule_resolve(e, std::chrono::steady_clock::now() + next);
}

void BackendHealth::schedule_resolve(Entry& e, std::chrono::steady_clock::time_point at) {
  if (!e.resolve_timer || e.resolving) return;
  e.resolve_timer->expires_at(at);
  std::weak_ptr<BackendHealth> self = weak_from_this();
  auto backend = e.backend.lock();
  e.resolve_timer->async_wait([self, key = backend.get(), ticket = e.ticket](const asio::error_code& waited) {
    if (waited) return;  // cancelled: rescheduled, removed or stopped
    if (auto health = self.lock()) health->resolve_name(key, ticket);
  });
}

void BackendHealth::resolve_soon(const pool::Backend* key) {
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.resolve_timer) return;  // an IP literal
  // A failed check may mean the name points elsewhere now; at most once a second.
  schedule_resolve(it->second, std::max(std::chrono::steady_clock::now(),
                                        it->second.last_resolve + std::chrono::seconds(1)));
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
        if (t.to == health::State::Down) resolve_soon(b.get());
      });
  const pool::Backend* key = backend.get();
  checker->set_on_outcome([this, key, frontend_name, name = backend->name()](const health::Outcome& o) {
    auto it = entries_.find(key);
    if (it != entries_.end()) it->second.last_outcome_at = std::chrono::steady_clock::now();
    if (on_outcome) on_outcome(frontend_name, name, o);
  });
  if (started_) checker->start();
  Entry& e = entries_[key];  // made by add_backend: keeps its ticket and resolution
  if (e.checker) e.checker->stop();
  e.checker = std::move(checker);
}

void BackendHealth::remove_backend(const pool::Backend* backend) {
  auto it = entries_.find(backend);
  if (it == entries_.end()) return;
  if (it->second.checker) it->second.checker->stop();
  if (it->second.resolve_timer) it->second.resolve_timer->cancel();
  entries_.erase(it);
}

void BackendHealth::start() {
  started_ = true;
  for (auto& [_, e] : entries_)
    if (e.checker) e.checker->start();
}

void BackendHealth::stop() {
  stopped_ = true;
  for (auto& [_, e] : entries_) {
    if (e.checker) e.checker->stop();
    if (e.resolve_timer) e.resolve_timer->cancel();  // a pending resolution must not hold the loop open
  }
}

bool BackendHealth::first_round_done() const {
  for (const auto& [_, e] : entries_) {
    if (e.unresolved) continue;  // decided: down until its name resolves
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
