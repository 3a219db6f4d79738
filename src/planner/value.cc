// Values: Source text, INI literals (the ast.literal_eval subset), value_to_text and vars YAML files.
#include "planner/value.h"

#include <cctype>
#include <charconv>
#include <optional>

#include "planner/yaml_value.h"

namespace kha::planner {

std::string Source::to_string() const {
  if (file.empty()) return layer;
  return line > 0 ? file + ':' + std::to_string(line) : file;
}

namespace {

// Recursive-descent reader for the Python literal subset ast.literal_eval accepts.
class LiteralReader {
 public:
  explicit LiteralReader(std::string_view text) : text_(text) {}

  std::optional<Value> read_all() {
    auto v = read_value(0);
    skip_space();
    if (!v || pos_ != text_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::optional<Value> read_value(int depth) {
    if (depth > 32) return std::nullopt;
    skip_space();
    if (pos_ >= text_.size()) return std::nullopt;
    const char c = text_[pos_];
    if (c == '\'' || c == '"') return read_string();
    if (c == '[' || c == '(') return read_list(c == '[' ? ']' : ')', depth);
    if (c == '{') return read_dict(depth);
    return read_atom();
  }

  std::optional<Value> read_string() {
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        c = text_[pos_++];
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
      }
      out += c;
    }
    if (pos_ >= text_.size()) return std::nullopt;
    ++pos_;
    return Value(out);
  }

  std::optional<Value> read_list(char close, int depth) {
    ++pos_;
    Value out = Value::array();
    if (eat(close)) return out;
    while (true) {
      auto v = read_value(depth + 1);
      if (!v) return std::nullopt;
      out.push_back(std::move(*v));
      if (eat(close)) return out;
      if (!eat(',')) return std::nullopt;
      if (eat(close)) return out;
    }
  }

  std::optional<Value> read_dict(int depth) {
    ++pos_;
    Value out = Value::object();
    if (eat('}')) return out;
    while (true) {
      auto k = read_value(depth + 1);
      if (!k || !eat(':')) return std::nullopt;
      auto v = read_value(depth + 1);
      if (!v) return std::nullopt;
      out[k->is_string() ? k->get<std::string>() : json_text(*k)] = std::move(*v);
      if (eat('}')) return out;
      if (!eat(',')) return std::nullopt;
      if (eat('}')) return out;
    }
  }

  std::optional<Value> read_atom() {
    const auto start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) &&
           text_[pos_] != ',' && text_[pos_] != ']' && text_[pos_] != ')' && text_[pos_] != '}' &&
           text_[pos_] != ':')
      ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word == "True") return Value(true);
    if (word == "False") return Value(false);
    if (word == "None") return Value(nullptr);
    if (word.empty()) return std::nullopt;
    long long i = 0;
    auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), i);
    if (ec == std::errc() && p == word.data() + word.size()) return Value(i);
    double d = 0;
    auto [p2, ec2] = std::from_chars(word.data(), word.data() + word.size(), d);
    if (ec2 == std::errc() && p2 == word.data() + word.size() && word.find_first_of(".eE") != std::string_view::npos)
      return Value(d);
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

Value parse_ini_literal(std::string_view text) {
  if (auto v = LiteralReader(text).read_all()) return *v;
  return Value(std::string(text));
}

std::string value_to_text(const Value& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_null()) return "None";
  return json_text(value);
}

Result<VarMap> parse_vars_yaml(std::string_view text, const std::string& file, const std::string& layer) {
  auto doc = load_yaml(text, file);
  if (!doc.ok()) return doc.errors();
  const YAML::Node& root = doc.value();
  VarMap out;
  if (!root || root.IsNull()) return out;
  if (!root.IsMap())
    return Diagnostic{file, line_of(root), 0, "", "expected a mapping of variable names to values"};
  Diagnostics errors;
  YamlBudget budget;  // one for the whole file: each variable may alias the others
  for (const auto& kv : root) {
    const std::string name = kv.first.Scalar();
    if (!kv.first.IsScalar() || name.empty()) {
      errors.push_back({file, line_of(kv.first), 0, "", "expected a variable name"});
      continue;
    }
    if (out.count(name)) {
      errors.push_back({file, line_of(kv.first), 0, name,
                        "duplicate variable (first set on line " + std::to_string(out[name].source.line) + ")"});
      continue;
    }
    Value v = yaml_to_value(kv.second, file, &errors, budget);
    out[name] = Var{std::move(v), Source{file, line_of(kv.first), layer}};
  }
  if (!errors.empty()) return errors;
  return out;
}

}  // namespace kha::planner
