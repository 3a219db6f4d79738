// FrontendOwner's rebalancing rounds: after a backend came back, the fuller backends'
// surplus sessions are closed a budget at a time (pool/rebalance.h, docs/balance.md);
// each round also samples the backends' byte rates.
#include <algorithm>
#include <random>

#include "common/log.h"
#include "daemon/frontend_owner.h"
#include "pool/rebalance.h"

namespace kha::daemon {

using Clock = std::chrono::steady_clock;

void FrontendOwner::start_rebalancing() {
  if (!rebalance_timer_) rebalance_timer_ = std::make_unique<asio::steady_timer>(context_.main);
  // About a second, jittered (0.8-1.2 s): the nodes of a fleet do not act in step.
  thread_local std::minstd_rand random{std::random_device{}()};
  rebalance_timer_->expires_after(std::chrono::milliseconds(800 + random() % 401));
  rebalance_timer_->async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    if (ec) return;  // cancelled: retired or gone
    if (auto self = weak.lock()) {
      self->rebalance_round();
      self->start_rebalancing();
    }
  });
}

void FrontendOwner::rebalance_round() {
  if (!runtime_ || context_.stopping) return;
  const auto settings = runtime_->settings();
  const auto& r = settings->rebalance;
  const auto list = runtime_->backends().snapshot();
  const auto now = Clock::now();
  sample_rates(*list, now);
  std::vector<pool::BackendPtr> up;
  std::vector<std::int64_t> sessions;
  bool settled = true;
  std::map<const pool::Backend*, std::pair<std::weak_ptr<pool::Backend>, Clock::time_point>> seen;
  for (const auto& b : *list) {
    if (!b->up() || b->removed()) continue;
    auto it = up_since_.find(b.get());
    const auto since = it != up_since_.end() && it->second.first.lock() == b ? it->second.second : now;
    seen[b.get()] = {b, since};
    // Not while a backend is still in its slow start: the ramp is spreading new sessions.
    settled &= now - since >= std::max<Clock::duration>(r.settle, settings->slow_start);
    up.push_back(b);
    sessions.push_back(b->stats().active_sessions.load(std::memory_order_relaxed));
  }
  up_since_ = std::move(seen);  // a backend that went down starts its settle time again
  if (!r.enabled || !settled || up.size() < 2) return;
  std::int64_t total = 0;
  for (const auto s : sessions) total += s;
  const auto plan = pool::rebalance_plan(sessions, {r.max_skew_percent, pool::rebalance_budget(total, r.rate_percent)});
  const std::size_t workers = std::max<std::size_t>(context_.workers.size(), 1);
  for (std::size_t i = 0; i < up.size(); ++i) {
    if (plan[i] == 0) continue;
    // Each worker holds part of the backend's sessions: each closes its part of the
    // round's count (rounded up); a worker short of quiet ones leaves the rest to the
    // next round.
    const std::size_t each = (plan[i] + workers - 1) / workers;
    for (auto& w : context_.workers) w->close_quiet_sessions_of(up[i], each, r.quiet);
    log::debug("rebalance", {{"frontend", name_}, {"backend", up[i]->name()}, {"sessions", std::to_string(sessions[i])},
                             {"closing", std::to_string(plan[i])}, {"frontend_sessions", std::to_string(total)}});
  }
}

void FrontendOwner::sample_rates(const pool::BackendList& list, Clock::time_point now) {
  std::map<const pool::Backend*, RateSample> next;
  for (const auto& b : list) {
    auto& s = b->stats();
    const std::uint64_t bytes =
        s.bytes_to_backend.load(std::memory_order_relaxed) + s.bytes_to_client.load(std::memory_order_relaxed);
    if (const auto it = rate_samples_.find(b.get()); it != rate_samples_.end() && it->second.backend.lock() == b) {
      const double seconds = std::chrono::duration<double>(now - it->second.at).count();
      if (seconds > 0 && bytes >= it->second.bytes)
        s.bytes_per_second.store(static_cast<double>(bytes - it->second.bytes) / seconds, std::memory_order_relaxed);
    }
    next[b.get()] = {b, bytes, now};
  }
  rate_samples_ = std::move(next);
}

}  // namespace kha::daemon
