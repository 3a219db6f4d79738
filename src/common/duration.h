// Durations as users write them in YAML and flags: "100ms", "5s", "3h", "1m30s".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kha {

using Millis = std::chrono::milliseconds;

// Parses a sequence of <number><unit> with units ms, s, m, h (Go/HAProxy style).
// A bare number is rejected: the unit must be explicit. Returns nullopt on bad input.
std::optional<Millis> parse_duration(std::string_view text);

// Shortest exact spelling: 1500ms -> "1500ms", 3600000ms -> "1h", 90000ms -> "90s".
std::string format_duration(Millis d);

}  // namespace kha
