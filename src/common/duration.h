// Durations as users write them in YAML and flags: "100ms", "5s", "3h", "1m30s".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kha {

using Millis = std::chrono::milliseconds;

// The longest duration parse_duration() accepts: 1000000h (about 114 years). Every YAML key
// has a much smaller bound of its own (validate.cc); this one only guarantees that the parsed
// value, converted to steady_clock's nanoseconds and added to now(), cannot overflow
// (1000000h = 3.6e18 ns < 2^63 ns), so run-time deadline arithmetic needs no saturation.
inline constexpr Millis kMaxDuration = std::chrono::hours(1'000'000);

// Why parse_duration() refused a text.
enum class DurationProblem {
  Syntax,   // not <number><unit>...: "10", "1.5s", "5d", ""
  TooLong,  // a part or the sum is longer than kMaxDuration
};

// What was expected, for messages: "expected a duration with a unit (ms, s, m, h)" or
// "expected a duration of at most 1000000h".
std::string to_string(DurationProblem problem);

// Parses a sequence of <number><unit> with units ms, s, m, h (Go/HAProxy style).
// A bare number is rejected: the unit must be explicit. Returns nullopt on bad input, and on
// any part or sum longer than kMaxDuration (checked before it is computed, so nothing wraps);
// *problem, when given, then says which. Syntax is reported before length.
std::optional<Millis> parse_duration(std::string_view text, DurationProblem* problem = nullptr);

// Shortest exact spelling: 1500ms -> "1500ms", 3600000ms -> "1h", 90000ms -> "90s".
std::string format_duration(Millis d);

}  // namespace kha
