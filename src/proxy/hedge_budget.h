// HedgeBudget: how many hedges (a second or third backend tried for one client while
// the first may still answer) a frontend may start, so that a slow cluster is not
// handed every request two or three times over (Envoy's retry budget, Finagle's
// RetryBudget). Every new session deposits `percent` hundredths of a hedge; a hedge
// withdraws one whole. The bucket starts full and holds at most `burst` hedges, so a
// quiet frontend still hedges its first few clients at once.
//
// Example, percent 50, burst 20: one backend of three hangs, a third of new sessions
// need a hedge: 0.33 per session < 0.5 deposited, every one is hedged. All three slow,
// every session wants two: after the burst, one hedge per two sessions (1.5x load at
// most instead of 3x). Thread-safe (atomics): shared by the workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace kha::proxy {

class HedgeBudget {
 public:
  static constexpr std::int64_t kUnit = 100;  // one hedge, in hundredths

  explicit HedgeBudget(int percent = 50, int burst = 20) { configure(percent, burst); }

  void configure(int percent, int burst) {
    percent_.store(std::clamp(percent, 0, 100), std::memory_order_relaxed);
    cap_.store(std::int64_t{std::max(burst, 1)} * kUnit, std::memory_order_relaxed);
    tokens_.store(cap_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }

  // A new session arrived.
  void deposit() {
    const std::int64_t cap = cap_.load(std::memory_order_relaxed);
    std::int64_t t = tokens_.load(std::memory_order_relaxed);
    while (t < cap && !tokens_.compare_exchange_weak(t, std::min(cap, t + percent_.load(std::memory_order_relaxed)),
                                                      std::memory_order_relaxed)) {
    }
  }

  // True (and one hedge spent) when the budget allows a hedge now. 100 % never refuses.
  bool try_spend() {
    if (percent_.load(std::memory_order_relaxed) >= 100) return true;
    std::int64_t t = tokens_.load(std::memory_order_relaxed);
    while (t >= kUnit) {
      if (tokens_.compare_exchange_weak(t, t - kUnit, std::memory_order_relaxed)) return true;
    }
    return false;
  }

 private:
  std::atomic<int> percent_{50};
  std::atomic<std::int64_t> cap_{0};
  std::atomic<std::int64_t> tokens_{0};
};

}  // namespace kha::proxy
