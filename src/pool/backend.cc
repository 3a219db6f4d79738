// Backend stats (connect-latency histogram, session ages) and BackendSet: snapshot, replace, pick of the next backend.
#include "pool/backend.h"

#include <algorithm>

namespace kha::pool {

std::array<std::int64_t, kSessionAgeLabels.size()> BackendStats::session_ages() const {
  std::array<std::int64_t, kSessionAgeLabels.size()> out{};
  std::int64_t aged = 0;
  for (std::size_t i = 0; i < aged_sessions.size(); ++i) {
    out[i + 1] = std::max<std::int64_t>(0, aged_sessions[i].load(std::memory_order_relaxed));
    aged += out[i + 1];
  }
  // Read without a lock while sessions come and go: never shown below zero.
  out[0] = std::max<std::int64_t>(0, active_sessions.load(std::memory_order_relaxed) - aged);
  return out;
}

void BackendStats::observe_connect_latency(std::chrono::microseconds latency) {
  const double seconds = static_cast<double>(latency.count()) / 1e6;
  std::size_t bucket = 0;
  while (bucket < kConnectLatencyBuckets.size() && seconds > kConnectLatencyBuckets[bucket]) ++bucket;
  connect_latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  connect_latency_count.fetch_add(1, std::memory_order_relaxed);
  connect_latency_sum_us.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
}

std::shared_ptr<const BackendList> BackendSet::snapshot() const {
  std::lock_guard lock(mutex_);
  return list_;
}

void BackendSet::replace(BackendList next) {
  auto fresh = std::make_shared<const BackendList>(std::move(next));
  std::lock_guard lock(mutex_);
  list_ = std::move(fresh);
}

BackendPtr BackendSet::pick(const BackendList& list, const std::vector<const Backend*>& tried,
                            bool* ignoring_health, std::chrono::steady_clock::time_point now,
                            std::chrono::milliseconds slow_start) {
  std::vector<Candidate> candidates;
  candidates.reserve(list.size());
  for (const auto& b : list) {
    const bool excluded = b->removed() || std::find(tried.begin(), tried.end(), b.get()) != tried.end();
    const auto& s = b->stats();
    candidates.push_back({b->up(), excluded,
                          s.active_sessions.load(std::memory_order_relaxed) + s.connecting.load(std::memory_order_relaxed),
                          b->admit(now, slow_start)});
  }
  const auto cursor = cursor_.fetch_add(1, std::memory_order_relaxed);
  const auto choice = select_backend(candidates, balance(), cursor);
  if (!choice) return nullptr;
  if (ignoring_health) *ignoring_health = choice->ignoring_health;
  return list[choice->index];
}

}  // namespace kha::pool
