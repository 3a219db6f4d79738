#include "common/duration.h"

#include <gtest/gtest.h>

#include <cstdint>

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

TEST(ParseDuration, AcceptsUpToTheLongestDurationExactly) {
  EXPECT_EQ(parse_duration("1000000h"), kMaxDuration);
  EXPECT_EQ(parse_duration("999999h59m59s999ms"), kMaxDuration - Millis(1));
  EXPECT_EQ(parse_duration("3600000000000ms"), kMaxDuration);
}

TEST(ParseDuration, RejectsAPartLongerThanTheLongestDuration) {
  DurationProblem why{};
  EXPECT_EQ(parse_duration("1000000000h", &why), std::nullopt);
  EXPECT_EQ(why, DurationProblem::TooLong);
  EXPECT_EQ(parse_duration("1000001h"), std::nullopt);
  EXPECT_EQ(parse_duration("3600000000001ms"), std::nullopt);
  // Digits far past int64: the number stops growing instead of wrapping.
  EXPECT_EQ(parse_duration("99999999999999999999999999999999ms", &why), std::nullopt);
  EXPECT_EQ(why, DurationProblem::TooLong);
}

TEST(ParseDuration, RejectsPartsThatSumPastTheLongestDuration) {
  EXPECT_EQ(parse_duration("999999h60m"), kMaxDuration);
  EXPECT_EQ(parse_duration("999999h61m"), std::nullopt);
  EXPECT_EQ(parse_duration("600000h600000h"), std::nullopt);
}

TEST(ParseDuration, RejectsPartsWhoseSumWrapsPast2To64Milliseconds) {
  // 5124 * 1000000000h + 95576030h + 1556616ms = 2^64 ms + 5000 ms: a parser that sums
  // in 64 bits without checks wraps this to 5s and accepts it.
  std::string text;
  for (int i = 0; i < 5124; ++i) text += "1000000000h";
  text += "95576030h1556616ms";
  DurationProblem why{};
  EXPECT_EQ(parse_duration(text, &why), std::nullopt);
  EXPECT_EQ(why, DurationProblem::TooLong);
}

TEST(ParseDuration, ReportsSyntaxBeforeLength) {
  DurationProblem why{};
  EXPECT_EQ(parse_duration("1000000000h1x", &why), std::nullopt);
  EXPECT_EQ(why, DurationProblem::Syntax);
  EXPECT_EQ(parse_duration("10", &why), std::nullopt);
  EXPECT_EQ(why, DurationProblem::Syntax);
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
