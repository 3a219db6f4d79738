#include "daemon/backend_health.h"

#include "common/log.h"

namespace kha::daemon {

using asio::ip::tcp;

std::string BackendHealth::add(const proxy::FrontendPtr& frontend) {
  const auto settings = frontend->settings();
  for (const auto& backend : *frontend->backends().snapshot()) {
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
    auto checker = health::Checker::create(
        main_.get_executor(), settings->health, endpoint, addr.host,
        [this, weak, frontend_name, kind, close_on_down](const health::Transition& t) {
          auto b = weak.lock();
          if (!b) return;
          b->set_up(t.to != health::State::Down);
          health::log_transition(frontend_name, b->name(), kind, t);
          if (t.to == health::State::Down && t.from == health::State::Up && close_on_down) on_down_(b);
        });
    entries_[backend.get()] = Entry{backend, std::move(checker)};
  }
  frontend->passive_failure = [this](const pool::BackendPtr& backend, const std::string& reason) {
    // Workers call this on their own threads; the checker takes reports from any thread.
    if (auto c = checker(backend.get())) c->report_passive_failure(health::Outcome::failure(health::Layer::Passive, reason));
  };
  return {};
}

void BackendHealth::start() {
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

std::shared_ptr<health::Checker> BackendHealth::checker(const pool::Backend* backend) const {
  auto it = entries_.find(backend);
  return it == entries_.end() ? nullptr : it->second.checker;
}

}  // namespace kha::daemon
