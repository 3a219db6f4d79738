// close_pacing: the closes of a down backend's sessions fill the window, never past it.
#include "proxy/close_pacing.h"

#include <gtest/gtest.h>

namespace kha::proxy {
namespace {

using namespace std::chrono_literals;

// When the last of `total` closes happens with this pacing.
std::chrono::milliseconds last_close(std::size_t total, const ClosePacing& p) {
  const std::size_t steps = (total + p.batch - 1) / p.batch;
  return p.first + p.interval * static_cast<std::int64_t>(steps - 1);
}

TEST(ClosePacing, AFewSessionsAreSpreadOneAtATimeOverTheWindow) {
  const auto p = close_pacing(5, 1s, 0.0);
  EXPECT_EQ(p.batch, 1u);
  EXPECT_EQ(p.interval, 200ms);
  EXPECT_EQ(p.first, 0ms);
  EXPECT_EQ(last_close(5, p), 800ms);
}

TEST(ClosePacing, ManySessionsGoInBatchesTenMillisecondsApart) {
  const auto p = close_pacing(1000, 1s, 0.5);
  EXPECT_EQ(p.batch, 10u);
  EXPECT_EQ(p.interval, 10ms);
  EXPECT_EQ(p.first, 5ms);
}

TEST(ClosePacing, TheJitterStaysInTheFirstIntervalAndTheLastCloseInTheWindow) {
  for (std::size_t total : {1u, 2u, 7u, 99u, 100u, 101u, 5000u})
    for (double draw : {0.0, 0.3, 0.999999, 1.0, 7.0, -1.0})
      for (auto window : {10ms, 250ms, 1000ms, 60000ms}) {
        const auto p = close_pacing(total, window, draw);
        EXPECT_GE(p.batch, 1u);
        EXPECT_LE(p.first, p.interval);
        EXPECT_LE(last_close(total, p), window) << total << " " << draw << " " << window.count();
      }
}

TEST(ClosePacing, NoWindowClosesAllAtOnce) {
  const auto p = close_pacing(300, 0ms, 0.7);
  EXPECT_EQ(p.batch, 300u);
  EXPECT_EQ(p.first, 0ms);
  EXPECT_EQ(close_pacing(0, 1s, 0.5).batch, 1u);  // nothing to close: one empty step
}

}  // namespace
}  // namespace kha::proxy
