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

TEST(Resolution, JoinedForLogs) {
  EXPECT_EQ(join_addresses({}), "none");
  EXPECT_EQ(join_addresses({"10.0.0.1", "fd00::1"}), "10.0.0.1, fd00::1");
}

}  // namespace
}  // namespace kha::pool
