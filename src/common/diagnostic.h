// Diagnostic: one problem found in user input (a config file, an inventory, a flag),
// located by file, line, column and key path, with what was expected.
#pragma once

#include <string>
#include <vector>

namespace kha {

struct Diagnostic {
  std::string file;     // "" for flags and built-in input
  int line = 0;         // 1-based; 0 when unknown
  int column = 0;       // 1-based; 0 when unknown
  std::string key;      // dotted key path, e.g. "frontends[0].health.rise"
  std::string message;  // what is wrong and what was expected

  // "config.yaml:12:5: frontends[0].health.rise: must be > 0, got 0"
  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

// One diagnostic per line, as to_string() prints it.
std::string format_diagnostics(const Diagnostics& diagnostics);

}  // namespace kha
