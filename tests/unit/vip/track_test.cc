// Rise/fall debouncing of the tracked proxy check.
#include <gtest/gtest.h>

#include "vip/track_checker.h"

namespace kha::vip {
namespace {

TEST(RiseFallTest, FallsAfterFallFailuresInARow) {
  RiseFall r(2, 2, true);
  EXPECT_FALSE(r.observe(false));
  EXPECT_FALSE(r.observe(true));  // a pass resets the failure count
  EXPECT_FALSE(r.observe(false));
  EXPECT_TRUE(r.observe(false));
  EXPECT_FALSE(r.healthy());
  EXPECT_FALSE(r.observe(false));
}

TEST(RiseFallTest, RisesAfterRisePassesInARow) {
  RiseFall r(3, 1, false);
  EXPECT_FALSE(r.observe(true));
  EXPECT_FALSE(r.observe(true));
  EXPECT_FALSE(r.observe(false));
  EXPECT_FALSE(r.observe(true));
  EXPECT_FALSE(r.observe(true));
  EXPECT_TRUE(r.observe(true));
  EXPECT_TRUE(r.healthy());
  EXPECT_TRUE(r.observe(false));  // fall 1
}

}  // namespace
}  // namespace kha::vip
