#include "common/duration.h"

#include <gtest/gtest.h>

namespace kha {
namespace {

TEST(ParseDuration, AcceptsEachUnitAndSequences) {
  EXPECT_EQ(parse_duration("100ms"), Millis(100));
  EXPECT_EQ(parse_duration("5s"), Millis(5000));
  EXPECT_EQ(parse_duration("3m"), Millis(180000));
  EXPECT_EQ(parse_duration("3h"), Millis(10800000));
  EXPECT_EQ(parse_duration("1m30s"), Millis(90000));
  EXPECT_EQ(parse_duration("0s"), Millis(0));
}

TEST(ParseDuration, RejectsBareNumbersUnknownUnitsAndJunk) {
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("10"), std::nullopt);
  EXPECT_EQ(parse_duration("10d"), std::nullopt);
  EXPECT_EQ(parse_duration("s"), std::nullopt);
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("1.5s"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999s"), std::nullopt);
}

TEST(FormatDuration, PicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
  EXPECT_EQ(format_duration(Millis(3000)), "3s");
  EXPECT_EQ(format_duration(Millis(90000)), "90s");
  EXPECT_EQ(format_duration(Millis(10800000)), "3h");
  EXPECT_EQ(format_duration(Millis(0)), "0ms");
}

}  // namespace
}  // namespace kha
