// YamlReader: typed scalar reads, map/list walks, unknown-key suggestions and file:line:column placement.
#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

namespace kha::config {

std::string quote_scalar(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto ch = static_cast<unsigned char>(text[i]);
    if (ch < 0x20 || ch == 0x7f || ch >= 0x80 || ch == '"' || ch == '\\') {
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += static_cast<char>(ch);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", ch);
        out += buf;
      }
    } else {
      out += static_cast<char>(ch);
    }
  }
  if (text.size() > kMax) out += "...";
  return out + '"';
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return quote_scalar(node.Scalar());
    default: return "nothing";
  }
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The allowed key closest to a misspelt one, if it is close enough to be a typo.
std::string_view suggestion(std::string_view key, const std::vector<std::string_view>& allowed) {
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, key.size() / 3)) + 1;
  for (auto a : allowed) {
    const auto d = edit_distance(key, a);
    if (d < best_distance) {
      best = a;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace

std::string parent_path(std::string_view path) {
  const auto cut = path.find_last_of(".[");
  if (cut == std::string_view::npos) return "";
  return std::string(path.substr(0, cut));
}

void YamlReader::error_at(const YAML::Mark& at, const std::string& path, std::string message) {
  Diagnostic d{file_, 0, 0, path, std::move(message)};
  if (!at.is_null()) {
    d.line = at.line + 1;
    d.column = at.column + 1;
  } else {
    place(&d);
  }
  diagnostics_.push_back(std::move(d));
  failed_.insert(path);
}

void YamlReader::error(const YAML::Node& at, const std::string& path, std::string message) {
  // A null node ("rise:" with no value) carries the position of the next token: use the key's.
  const bool positioned = at.IsDefined() && !at.IsNull();
  error_at(positioned ? at.Mark() : YAML::Mark::null_mark(), path, std::move(message));
}

void YamlReader::note(const std::string& path, const YAML::Node& node) {
  if (!node.IsDefined()) return;
  const auto mark = node.Mark();
  if (mark.is_null()) return;
  positions_.emplace(path, Pos{mark.line + 1, mark.column + 1});
}

void YamlReader::place(Diagnostic* d) const {
  std::string path = d->key;
  while (true) {
    if (const auto it = positions_.find(path); it != positions_.end()) {
      d->line = it->second.line;
      d->column = it->second.column;
      return;
    }
    if (path.empty()) return;
    path = parent_path(path);
  }
}

bool YamlReader::failed_at_or_above(const std::string& path) const {
  std::string p = path;
  while (true) {
    if (failed_.count(p)) return true;
    if (p.empty()) return false;
    p = parent_path(p);
  }
}

std::vector<YamlReader::Entry> YamlReader::map_entries(const YAML::Node& node, const std::string& path,
                                                       const std::vector<std::string_view>& allowed) {
  std::vector<Entry> out;
  note(path, node);
  if (node.IsNull()) return out;
  if (!node.IsMap()) {
    error(node, path, "expected a map, got " + describe(node));
    return out;
  }
  std::map<std::string, int, std::less<>> seen;  // key -> line
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key_node = it->first;
    const std::string prefix = path.empty() ? "" : path + ".";
    if (!key_node.IsScalar()) {
      error(key_node, path, "expected a key name, got " + describe(key_node));
      continue;
    }
    const std::string key = key_node.Scalar();
    const std::string child = prefix + key;
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string expected;
      for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
      const auto close = suggestion(key, allowed);
      const std::string hint = close.empty() ? "" : " (did you mean \"" + std::string(close) + "\"?)";
      error(key_node, child, "unknown key \"" + key + "\"" + hint + "; expected one of: " + expected);
      continue;
    }
    const int line = key_node.Mark().line + 1;
    if (const auto [prev, inserted] = seen.emplace(key, line); !inserted) {
      error(key_node, child, "duplicate key \"" + key + "\" (first at line " + std::to_string(prev->second) + ")");
      continue;
    }
    YAML::Node value = it->second;
    // A missing value ("rise:") may carry no position: place it at its key.
    if (value.Mark().is_null() || value.IsNull()) {
      note(child, key_node);
    } else {
      note(child, value);
    }
    out.push_back(Entry{key, child, value});
  }
  return out;
}

std::vector<YamlReader::Entry> YamlReader::list_entries(const YAML::Node& node, const std::string& path,
                                                        const char* what) {
  std::vector<Entry> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) {
    error(node, path, std::string("expected a list of ") + what + ", got " + describe(node));
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string child = path + "[" + std::to_string(i) + "]";
    note(child, node[i]);
    out.push_back(Entry{"", child, node[i]});
  }
  return out;
}

bool YamlReader::scalar(const YAML::Node& node, const std::string& path, const char* what, std::string* out) {
  if (!node.IsScalar()) {
    error(node, path, std::string("expected ") + what + ", got " + describe(node));
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool YamlReader::read(const YAML::Node& node, const std::string& path, std::string* out) {
  if (node.IsNull()) {
    out->clear();
    return true;
  }
  return scalar(node, path, "a string", out);
}

namespace {

bool parse_integer(const std::string& text, long long* out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

}  // namespace

bool YamlReader::read(const YAML::Node& node, const std::string& path, int* out) {
  std::string text;
  if (!scalar(node, path, "an integer", &text)) return false;
  long long v = 0;
  if (!parse_integer(text, &v) || v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    error(node, path, "expected an integer, got " + describe(node));
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool YamlReader::read(const YAML::Node& node, const std::string& path, std::uint32_t* out) {
  std::string text;
  if (!scalar(node, path, "an integer", &text)) return false;
  long long v = 0;
  if (!parse_integer(text, &v) || v < 0 || v > std::numeric_limits<std::uint32_t>::max()) {
    error(node, path, "expected an integer from 0 to 4294967295, got " + describe(node));
    return false;
  }
  *out = static_cast<std::uint32_t>(v);
  return true;
}

bool YamlReader::read(const YAML::Node& node, const std::string& path, bool* out) {
  std::string text;
  if (!scalar(node, path, "true or false", &text)) return false;
  if (text == "true" || text == "True" || text == "TRUE") {
    *out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    *out = false;
  } else {
    error(node, path, "expected true or false, got " + describe(node));
    return false;
  }
  return true;
}

bool YamlReader::read(const YAML::Node& node, const std::string& path, double* out) {
  std::string text;
  if (!scalar(node, path, "a number", &text)) return false;
  const char* end = text.data() + text.size();
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v != v) {
    error(node, path, "expected a number, got " + describe(node));
    return false;
  }
  *out = v;
  return true;
}

bool YamlReader::read(const YAML::Node& node, const std::string& path, Millis* out) {
  std::string text;
  if (!scalar(node, path, "a duration such as \"5s\"", &text)) return false;
  DurationProblem problem{};
  const auto d = parse_duration(text, &problem);
  if (!d) {
    const char* example = problem == DurationProblem::Syntax ? " such as \"5s\"" : "";
    error(node, path, to_string(problem) + example + ", got " + describe(node));
    return false;
  }
  *out = *d;
  return true;
}

}  // namespace kha::config
