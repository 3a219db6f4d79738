#include "proxy/accept_balance.h"

#include <gtest/gtest.h>

#include <vector>

namespace kha::proxy {
namespace {

std::optional<std::size_t> decide(std::size_t mine, std::vector<std::size_t> others) {
  return hand_over_to(mine, others);
}

TEST(AcceptBalance, AloneKeepsEveryClient) { EXPECT_EQ(decide(1000, {}), std::nullopt); }

TEST(AcceptBalance, SmallSwingsKeepTheClient) {
  EXPECT_EQ(decide(0, {0}), std::nullopt);
  EXPECT_EQ(decide(3, {1}), std::nullopt);    // margin 2: 3 <= 1 + 2
  EXPECT_EQ(decide(18, {16}), std::nullopt);  // a steady load of ~16 each
  EXPECT_EQ(decide(80, {70}), std::nullopt);  // margin 2 + 80/8 = 12
}

TEST(AcceptBalance, ABurstOnOneWorkerGoesToTheLeastLoaded) {
  EXPECT_EQ(decide(4, {1}), std::optional<std::size_t>(0));
  EXPECT_EQ(decide(64, {0}), std::optional<std::size_t>(0));
  EXPECT_EQ(decide(83, {70}), std::optional<std::size_t>(0));
  EXPECT_EQ(decide(40, {30, 5, 12}), std::optional<std::size_t>(1));
}

TEST(AcceptBalance, TheLeastLoadedOtherIsTheOneCompared) {
  EXPECT_EQ(decide(10, {50, 9}), std::nullopt);  // 9 is not clearly fewer
  EXPECT_EQ(decide(10, {50, 3}), std::optional<std::size_t>(1));
}

}  // namespace
}  // namespace kha::proxy
