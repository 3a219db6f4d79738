// parse_duration() and format_duration(): "1m30s" <-> Millis, naming syntax and too-long problems.
#include "common/duration.h"

#include <cctype>
#include <cstdint>

namespace kha {

namespace {

std::optional<Millis> fail(DurationProblem* problem, DurationProblem what) {
  if (problem) *problem = what;
  return std::nullopt;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text, DurationProblem* problem) {
  constexpr auto kSyntax = DurationProblem::Syntax;
  constexpr auto kTooLong = DurationProblem::TooLong;
  // Every quantity below stays <= kMax, far from int64's limit: nothing can wrap.
  constexpr std::int64_t kMax = kMaxDuration.count();
  if (text.empty()) return fail(problem, kSyntax);
  std::int64_t total = 0;
  bool too_long = false;  // once set, the rest is only checked for syntax
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return fail(problem, kSyntax);
    std::int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number <= kMax) number = number * 10 + (text[i] - '0');  // stops growing past kMax
      ++i;
    }
    std::int64_t scale = 0;
    if (text.substr(i, 2) == "ms") {
      scale = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      scale = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      scale = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      scale = 3'600'000;
      ++i;
    } else {
      return fail(problem, kSyntax);  // missing or unknown unit
    }
    // total <= kMax here, so kMax - total >= 0 and number * scale is only formed when it fits.
    if (too_long || number > (kMax - total) / scale) {
      too_long = true;
      continue;  // the rest must still parse: "99999999h1x" is a syntax error first
    }
    total += number * scale;
  }
  if (too_long) return fail(problem, kTooLong);
  return Millis(total);
}

std::string to_string(DurationProblem problem) {
  if (problem == DurationProblem::TooLong) return "expected a duration of at most " + format_duration(kMaxDuration);
  return "expected a duration with a unit (ms, s, m, h)";
}

std::string format_duration(Millis d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace kha
