// rebalance_plan: which surplus sessions to close so that a returned backend gets its share.
#include "pool/rebalance.h"

#include <gtest/gtest.h>

namespace kha::pool {
namespace {

using V = std::vector<std::int64_t>;
using C = std::vector<std::size_t>;

C plan(const V& s, std::size_t budget, int skew = 120) { return rebalance_plan(s, RebalanceLimits{skew, budget}); }

TEST(Rebalance, AReturnedBackendGetsTheSurplusOfTheOthers) {
  // 150 watches on two backends, the third back and empty: 50 each is the share.
  EXPECT_EQ(plan({75, 75, 0}, 200), (C{25, 25, 0}));
  // The budget bounds a round; the fullest backend gives first.
  EXPECT_EQ(plan({80, 70, 0}, 3), (C{3, 0, 0}));
  EXPECT_EQ(plan({76, 75, 0}, 4), (C{3, 1, 0}));  // ties: the first fullest
}

TEST(Rebalance, NothingWithinTheSkew) {
  EXPECT_EQ(plan({50, 50, 50}, 10), (C{0, 0, 0}));
  EXPECT_EQ(plan({55, 50, 46}, 10), (C{0, 0, 0}));  // 55/46 = 1.196
  EXPECT_EQ(plan({60, 50, 40}, 10), (C{10, 0, 0}));  // 60/40 = 1.5: down to the share
  EXPECT_EQ(plan({60, 50, 40}, 10, 200), (C{0, 0, 0}));
}

TEST(Rebalance, SmallCountsDoNotChurn) {
  EXPECT_EQ(plan({1, 0}, 5), (C{0, 0}));  // the share of 1 over 2 is 1: no surplus
  EXPECT_EQ(plan({1, 1, 0}, 5), (C{0, 0, 0}));
  EXPECT_EQ(plan({2, 0}, 5), (C{1, 0}));
  EXPECT_EQ(plan({0, 0, 0}, 5), (C{0, 0, 0}));
  EXPECT_EQ(plan({7}, 5), (C{0}));  // one backend: nowhere to move to
  EXPECT_EQ(plan({}, 5), (C{}));
  EXPECT_EQ(plan({9, 0}, 0), (C{0, 0}));
}

TEST(Rebalance, NeverBelowTheShareAndNegativeCountsAreZero) {
  const auto c = plan({100, 3, -2}, 1000);
  EXPECT_EQ(c, (C{65, 0, 0}));  // 103 over 3: the share is 35
}

TEST(Rebalance, BudgetIsAPercentOfTheSessionsAtLeastOne) {
  EXPECT_EQ(rebalance_budget(150, 2), 3u);
  EXPECT_EQ(rebalance_budget(10, 2), 1u);
  EXPECT_EQ(rebalance_budget(0, 2), 1u);
  EXPECT_EQ(rebalance_budget(1000, 100), 1000u);
  EXPECT_EQ(rebalance_budget(-5, 2), 1u);
}

TEST(SessionSkew, FullestOverEmptiestAnEmptyOneCountingAsOne) {
  EXPECT_DOUBLE_EQ(session_skew(std::vector<std::int64_t>{30, 30, 0}), 30.0);
  EXPECT_DOUBLE_EQ(session_skew(std::vector<std::int64_t>{36, 30, 24}), 1.5);
  EXPECT_DOUBLE_EQ(session_skew(std::vector<std::int64_t>{5, 5}), 1.0);
  EXPECT_DOUBLE_EQ(session_skew(std::vector<std::int64_t>{0, 0, 0}), 1.0) << "nothing to balance";
  EXPECT_DOUBLE_EQ(session_skew(std::vector<std::int64_t>{40}), 1.0) << "one backend is never skewed";
  EXPECT_DOUBLE_EQ(session_skew(std::vector<std::int64_t>{}), 1.0);
}

}  // namespace
}  // namespace kha::pool
