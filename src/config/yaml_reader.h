// YamlReader: typed, position-aware reads from a yaml-cpp node tree for the config loader.
// Internal to src/config/. It owns the diagnostics found while reading (wrong types, unknown
// and duplicate keys, bad scalars) and remembers where every key path was seen, so that
// later semantic checks (validate.cc) can be placed at file:line:column too.
// No yaml-cpp exception escapes a YamlReader method.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/diagnostic.h"
#include "common/duration.h"

namespace kha::config {

class YamlReader {
 public:
  struct Entry {
    std::string key;    // the map key as written
    std::string path;   // parent path + key, e.g. "frontends[0].health.rise"
    YAML::Node value;
  };

  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  // Reports a problem at `at` (or at the nearest recorded position of `path` when `at`
  // has none) and marks `path` as failed so later checks on it are not repeated.
  void error(const YAML::Node& at, const std::string& path, std::string message);
  void error_at(const YAML::Mark& at, const std::string& path, std::string message);

  // Remembers where `path` is in the file (first position wins).
  void note(const std::string& path, const YAML::Node& node);

  // The entries of a map node, in file order. A null node reads as an empty map. Keys that
  // are not in `allowed` and repeated keys are reported and skipped. A node of another
  // kind is reported ("expected a map") and yields no entries.
  std::vector<Entry> map_entries(const YAML::Node& node, const std::string& path,
                                 const std::vector<std::string_view>& allowed);

  // The elements of a sequence node with their paths ("path[i]"); reports other kinds.
  std::vector<Entry> list_entries(const YAML::Node& node, const std::string& path, const char* what);

  // Typed scalar reads. On failure they report what was expected and leave *out unchanged.
  bool read(const YAML::Node& node, const std::string& path, std::string* out);
  bool read(const YAML::Node& node, const std::string& path, int* out);
  bool read(const YAML::Node& node, const std::string& path, std::uint32_t* out);
  bool read(const YAML::Node& node, const std::string& path, bool* out);
  bool read(const YAML::Node& node, const std::string& path, double* out);
  bool read(const YAML::Node& node, const std::string& path, Millis* out);

  // Fills line and column of `d` from the recorded position of d.key or its nearest parent.
  void place(Diagnostic* d) const;

  // True when a problem was already reported at `path` or at one of its parents.
  bool failed_at_or_above(const std::string& path) const;

  Diagnostics take_diagnostics() { return std::move(diagnostics_); }

 private:
  struct Pos {
    int line;
    int column;
  };
  // The scalar text of `node`, or reports "expected <what>, got a map" etc.
  bool scalar(const YAML::Node& node, const std::string& path, const char* what, std::string* out);

  std::string file_;
  Diagnostics diagnostics_;
  std::map<std::string, Pos, std::less<>> positions_;
  std::set<std::string, std::less<>> failed_;
};

// "text" in double quotes for messages: at most 60 bytes (then "..."), with quotes,
// backslashes, control and non-ASCII bytes escaped (\xNN) so that messages stay one line.
std::string quote_scalar(std::string_view text);

// "a map", "a list", "\"text\"", "nothing": how a node is named in messages.
std::string describe(const YAML::Node& node);

// Parent of a key path: "a.b[2]" -> "a.b", "a.b" -> "a", "a" -> "".
std::string parent_path(std::string_view path);

}  // namespace kha::config
