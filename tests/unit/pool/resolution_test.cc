// judge_resolution: what an answer for a backend's name does to its published addresses.
#include "pool/resolution.h"

#include <gtest/gtest.h>

namespace kha::pool {
namespace {

using V = std::vector<std::string>;

TEST(Resolution, TheFirstAnswerIsPublishedInTheResolversOrder) {
  auto r = judge_resolution({}, {"10.0.0.2", "10.0.0.1"});
  EXPECT_EQ(r.event, ResolutionEvent::First);
  EXPECT_EQ(r.publish, (V{"10.0.0.2", "10.0.0.1"}));
}

TEST(Resolution, DuplicatesAreDroppedKeepingTheFirst) {
  auto r = judge_resolution({}, {"10.0.0.1", "fd00::1", "10.0.0.1"});
  EXPECT_EQ(r.publish, (V{"10.0.0.1", "fd00::1"}));
}

TEST(Resolution, ARotatedAnswerIsNoChange) {
  // DNS round robin: the same records in another order on every query.
  auto r = judge_resolution({"10.0.0.1", "10.0.0.2", "10.0.0.3"}, {"10.0.0.3", "10.0.0.1", "10.0.0.2"});
  EXPECT_EQ(r.event, ResolutionEvent::Unchanged);
  EXPECT_TRUE(r.publish.empty());
  EXPECT_EQ(judge_resolution({"10.0.0.1"}, {"10.0.0.1", "10.0.0.1"}).event, ResolutionEvent::Unchanged);
}

TEST(Resolution, AnotherSetIsAChange) {
  auto moved = judge_resolution({"10.0.0.1"}, {"10.0.0.9"});
  EXPECT_EQ(moved.event, ResolutionEvent::Changed);
  EXPECT_EQ(moved.publish, V{"10.0.0.9"});
  auto grew = judge_resolution({"10.0.0.1"}, {"10.0.0.1", "10.0.0.2"});
  EXPECT_EQ(grew.event, ResolutionEvent::Changed);
  EXPECT_EQ(grew.publish, (V{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(judge_resolution({"10.0.0.1", "10.0.0.2"}, {"10.0.0.2"}).event, ResolutionEvent::Changed);
}

TEST(Resolution, AFailureKeepsTheLastGoodAddresses) {
  auto r = judge_resolution({"10.0.0.1"}, {});
  EXPECT_EQ(r.event, ResolutionEvent::FailedKeeping);
  EXPECT_TRUE(r.publish.empty());
}

TEST(Resolution, ANameThatNeverResolvedHasNone) {
  EXPECT_EQ(judge_resolution({}, {}).event, ResolutionEvent::FailedNone);
}

TEST(Resolution, AtMostSixteenAddressesAreKept) {
  // A hostile or mistaken answer with hundreds of records: a client would try them all.
  V many;
  for (int i = 0; i < 300; ++i) many.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250));
  auto r = judge_resolution({}, many);
  EXPECT_EQ(r.event, ResolutionEvent::First);
  ASSERT_EQ(r.publish.size(), kMaxResolved);
  EXPECT_EQ(r.dropped, 284u);
  // The same records rotated (DNS round robin) keep the same subset: no change.
  V rotated(many.begin() + 137, many.end());
  rotated.insert(rotated.end(), many.begin(), many.begin() + 137);
  EXPECT_EQ(judge_resolution(r.publish, rotated).event, ResolutionEvent::Unchanged);
  EXPECT_EQ(judge_resolution({}, rotated).publish, r.publish);
}

TEST(Resolution, JoinedForLogs) {
  EXPECT_EQ(join_addresses({}), "none");
  EXPECT_EQ(join_addresses({"10.0.0.1", "fd00::1"}), "10.0.0.1, fd00::1");
}

}  // namespace
}  // namespace kha::pool
