// SessionSlot: a frontend's max_sessions holds when workers take slots at the same time
// (the cap was once a check then an add, and two workers at cap - 1 both got one).
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "proxy/frontend_runtime.h"

namespace kha::proxy {
namespace {

TEST(SessionSlot, ACapIsNeverPassedByWorkersTakingSlotsAtOnce) {
  constexpr std::size_t kCap = 40;
  constexpr int kThreads = 4;
  constexpr int kTriesPerThread = 2000;
  auto open = std::make_shared<std::atomic<std::size_t>>(0);
  std::atomic<std::size_t> most{0};
  std::vector<std::vector<SessionSlot>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTriesPerThread; ++i) {
        if (auto slot = SessionSlot::try_take(open, kCap)) held[t].push_back(std::move(slot));
        const std::size_t now = open->load();
        std::size_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        if (i % 7 == 0 && !held[t].empty()) held[t].pop_back();  // a session ends
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(most.load(), kCap);
  std::size_t kept = 0;
  for (auto& h : held) kept += h.size();
  EXPECT_EQ(open->load(), kept);
  held.clear();
  EXPECT_EQ(open->load(), 0u) << "every slot given back";
}

TEST(SessionSlot, NoCapMeansAlwaysAndAnEmptySlotHoldsNothing) {
  auto open = std::make_shared<std::atomic<std::size_t>>(0);
  std::vector<SessionSlot> slots;
  for (int i = 0; i < 100; ++i) slots.push_back(SessionSlot::try_take(open, 0));
  for (auto& s : slots) EXPECT_TRUE(s);
  EXPECT_EQ(open->load(), 100u);
  auto at_cap = SessionSlot::try_take(open, 100);
  EXPECT_FALSE(at_cap);
  EXPECT_EQ(open->load(), 100u);
  slots.pop_back();
  EXPECT_TRUE(SessionSlot::try_take(open, 100));  // taken and given back at once
  EXPECT_EQ(open->load(), 99u);
}

}  // namespace
}  // namespace kha::proxy
