// Template evaluation: the {{ }} tokenizer and evaluator (names, dotted/subscript access, default()).
#include "planner/template.h"

#include <cctype>
#include <charconv>

namespace kha::planner {

namespace {

constexpr const char* kSupported = "kha evaluates variables, dotted access and the default() filter";

// A value that may be undefined (Jinja's Undefined), remembering which name was missing.
struct Maybe {
  std::optional<Value> value;
  std::string missing;  // the dotted path that was undefined
  std::string path;     // the dotted path evaluated so far
};

struct Token {
  enum Kind { End, Ident, String, Number, Punct, Other } kind = End;
  std::string text;
  Value number;
};

class ExprEvaluator {
 public:
  ExprEvaluator(std::string_view expr, Resolver& resolver, Diagnostics* nested)
      : expr_(expr), resolver_(resolver), nested_(nested) {
    next();
  }

  // Evaluates the whole expression; false with *error when unsupported.
  bool run(Maybe* out, std::string* error) {
    *out = parse_expr(0);
    if (!failed_ && tok_.kind != Token::End) unsupported("unexpected '" + tok_.text + "'");
    if (failed_) *error = error_;
    return !failed_;
  }

 private:
  void unsupported(const std::string& what) {
    if (failed_) return;
    failed_ = true;
    error_ = what;
  }

  void next() {
    while (pos_ < expr_.size() && std::isspace(static_cast<unsigned char>(expr_[pos_]))) ++pos_;
    tok_ = Token{};
    if (pos_ >= expr_.size()) return;
    const char c = expr_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const auto b = pos_;
      while (pos_ < expr_.size() && (std::isalnum(static_cast<unsigned char>(expr_[pos_])) || expr_[pos_] == '_')) ++pos_;
      tok_ = {Token::Ident, std::string(expr_.substr(b, pos_ - b)), {}};
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && pos_ + 1 < expr_.size() &&
                                                               std::isdigit(static_cast<unsigned char>(expr_[pos_ + 1])))) {
      const auto b = pos_++;
      while (pos_ < expr_.size() && (std::isdigit(static_cast<unsigned char>(expr_[pos_])) || expr_[pos_] == '.')) ++pos_;
      const std::string t(expr_.substr(b, pos_ - b));
      long long i = 0;
      auto r = std::from_chars(t.data(), t.data() + t.size(), i);
      Value v;
      if (r.ec == std::errc() && r.ptr == t.data() + t.size()) v = i;
      else {
        double d = 0;
        auto r2 = std::from_chars(t.data(), t.data() + t.size(), d);
        if (r2.ec != std::errc() || r2.ptr != t.data() + t.size()) {
          tok_ = {Token::Other, t, {}};
          return;
        }
        v = d;
      }
      tok_ = {Token::Number, t, v};
    } else if (c == '\'' || c == '"') {
      const auto end = expr_.find(c, pos_ + 1);
      if (end == std::string_view::npos) {
        tok_ = {Token::Other, std::string(expr_.substr(pos_)), {}};
        pos_ = expr_.size();
        return;
      }
      tok_ = {Token::String, std::string(expr_.substr(pos_ + 1, end - pos_ - 1)), {}};
      pos_ = end + 1;
    } else if (std::string_view(".[](),|").find(c) != std::string_view::npos) {
      tok_ = {Token::Punct, std::string(1, c), {}};
      ++pos_;
    } else {
      tok_ = {Token::Other, std::string(1, c), {}};
      ++pos_;
    }
  }

  bool is(const char* punct) const { return tok_.kind == Token::Punct && tok_.text == punct; }
  bool expect(const char* punct) {
    if (!is(punct)) {
      unsupported(tok_.kind == Token::End ? std::string("expected '") + punct + "'" : "unexpected '" + tok_.text + "'");
      return false;
    }
    next();
    return true;
  }

  Maybe parse_expr(int depth) {
    if (depth > 32) {
      unsupported("expression nested too deeply");
      return {};
    }
    Maybe v = parse_postfix(depth);
    while (!failed_ && is("|")) {
      next();
      if (tok_.kind != Token::Ident) {
        unsupported("expected a filter name after '|'");
        return {};
      }
      const std::string filter = tok_.text;
      if (filter != "default" && filter != "d") {
        unsupported("filter '" + filter + "'");
        return {};
      }
      next();
      Maybe fallback{Value(""), "", ""};
      bool when_false = false;
      if (is("(")) {
        next();
        if (!is(")")) {
          fallback = parse_expr(depth + 1);
          if (is(",")) {
            next();
            Maybe flag = parse_expr(depth + 1);
            when_false = flag.value && flag.value->is_boolean() && flag.value->get<bool>();
          }
        }
        if (!expect(")")) return {};
      }
      const bool falsy = v.value && (v.value->is_null() || (v.value->is_boolean() && !v.value->get<bool>()) ||
                                     (v.value->is_string() && v.value->get<std::string>().empty()) ||
                                     (v.value->is_number() && v.value->get<double>() == 0) ||
                                     ((v.value->is_array() || v.value->is_object()) && v.value->empty()));
      if (!v.value || (when_false && falsy)) v = fallback;
    }
    return v;
  }

  Maybe parse_postfix(int depth) {
    Maybe v = parse_primary(depth);
    while (!failed_) {
      std::optional<Value> key;
      if (is(".")) {
        next();
        if (tok_.kind != Token::Ident && tok_.kind != Token::Number) {
          unsupported("expected an attribute name after '.'");
          return {};
        }
        key = tok_.kind == Token::Ident ? Value(tok_.text) : tok_.number;
        next();
      } else if (is("[")) {
        next();
        Maybe k = parse_expr(depth + 1);
        if (!expect("]")) return {};
        if (!k.value) return k;
        key = *k.value;
      } else if (is("(")) {
        unsupported("function or method call");
        return {};
      } else {
        break;
      }
      if (!v.value) continue;  // Jinja: attribute of Undefined stays Undefined
      const std::string name = key->is_string() ? key->get<std::string>() : json_text(*key);
      v.path += "." + name;
      if (v.value->is_object() && key->is_string() && v.value->contains(name)) {
        Value inner = (*v.value)[name];
        v.value = std::move(inner);
      } else if (v.value->is_array() && key->is_number_integer() && key->get<long long>() >= 0 &&
                 key->get<long long>() < static_cast<long long>(v.value->size())) {
        Value inner = (*v.value)[key->get<std::size_t>()];
        v.value = std::move(inner);
      } else {
        v.missing = v.path;
        v.value.reset();
      }
    }
    return v;
  }

  Maybe parse_primary(int depth) {
    if (failed_) return {};
    const Token t = tok_;
    switch (t.kind) {
      case Token::End:
        unsupported("empty expression");
        return {};
      case Token::Other:
        unsupported("unexpected '" + t.text + "'");
        return {};
      case Token::String:
        next();
        return {Value(t.text), "", ""};
      case Token::Number:
        next();
        return {t.number, "", ""};
      case Token::Punct:
        if (t.text == "(") {
          next();
          Maybe v = parse_expr(depth + 1);
          expect(")");
          return v;
        }
        if (t.text == "[") {
          next();
          Value list = Value::array();
          while (!failed_ && !is("]")) {
            Maybe item = parse_expr(depth + 1);
            if (!item.value) return item;
            list.push_back(*item.value);
            if (!is("]") && !expect(",")) return {};
          }
          expect("]");
          return {list, "", ""};
        }
        unsupported("unexpected '" + t.text + "'");
        return {};
      case Token::Ident:
        break;
    }
    next();
    if (t.text == "true" || t.text == "True") return {Value(true), "", ""};
    if (t.text == "false" || t.text == "False") return {Value(false), "", ""};
    if (t.text == "none" || t.text == "None") return {Value(nullptr), "", ""};
    static const char* kOperators[] = {"and", "or", "not", "if", "else", "is", "in"};
    for (const char* op : kOperators)
      if (t.text == op) {
        unsupported("operator '" + t.text + "'");
        return {};
      }
    if (is("(")) {
      unsupported("function call '" + t.text + "()'");
      return {};
    }
    auto v = resolver_.resolve(t.text, nested_);
    return {v, v ? "" : t.text, t.text};
  }

  std::string_view expr_;
  Resolver& resolver_;
  Diagnostics* nested_;
  std::size_t pos_ = 0;
  Token tok_;
  bool failed_ = false;
  std::string error_;
};

// Finds the "}}" closing an expression that starts at `from`, skipping quoted strings.
std::size_t find_close(std::string_view text, std::size_t from) {
  char quote = 0;
  for (std::size_t i = from; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '}' && text[i + 1] == '}') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool has_template(std::string_view text) {
  return text.find("{{") != std::string_view::npos || text.find("{%") != std::string_view::npos ||
         text.find("{#") != std::string_view::npos;
}

std::optional<Value> evaluate_template(std::string_view text, Resolver& resolver, std::string* error,
                                       Diagnostics* nested) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.find("{%") != std::string_view::npos || text.find("{#") != std::string_view::npos) {
    *error = "unsupported template expression " + quoted + ": statements and comments ({% %}, {# #}); " + kSupported;
    return std::nullopt;
  }
  std::string joined;
  std::optional<Value> single;
  int pieces = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      joined.append(text.substr(pos));
      ++pieces;
      break;
    }
    if (open > pos) {
      joined.append(text.substr(pos, open - pos));
      ++pieces;
    }
    const auto close = find_close(text, open + 2);
    if (close == std::string_view::npos) {
      *error = "unterminated '{{' in " + quoted;
      return std::nullopt;
    }
    const std::string_view expr = text.substr(open + 2, close - open - 2);
    ExprEvaluator eval(expr, resolver, nested);
    Maybe result;
    std::string why;
    if (!eval.run(&result, &why)) {
      *error = "unsupported template expression '{{" + std::string(expr) + "}}' in " + quoted + ": " + why + "; " +
               kSupported;
      return std::nullopt;
    }
    if (!result.value) {
      *error = "undefined variable " + (result.missing.empty() ? std::string("?") : "'" + result.missing + "'") +
               " in " + quoted;
      return std::nullopt;
    }
    single = *result.value;
    joined += value_to_text(*result.value);
    ++pieces;
    pos = close + 2;
  }
  if (pieces == 1 && single) return single;
  return Value(joined);
}

std::optional<Value> evaluate_value(const Value& value, Resolver& resolver, std::string* error, Diagnostics* nested) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!has_template(s)) return value;
    return evaluate_template(s, resolver, error, nested);
  }
  if (value.is_array()) {
    Value out = Value::array();
    for (const auto& item : value) {
      auto v = evaluate_value(item, resolver, error, nested);
      if (!v) return std::nullopt;
      out.push_back(std::move(*v));
    }
    return out;
  }
  if (value.is_object()) {
    Value out = Value::object();
    for (const auto& [k, item] : value.items()) {
      auto v = evaluate_value(item, resolver, error, nested);
      if (!v) return std::nullopt;
      out[k] = std::move(*v);
    }
    return out;
  }
  return value;
}

}  // namespace kha::planner
