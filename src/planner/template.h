// Template evaluation for inventory values: the part of Jinja2 that Kubespray inventories use
// for plain references: `{{ var }}`, dotted/subscript access (`{{ lb.port }}`, `{{ lb['port'] }}`),
// literals and the `default(value[, true])` filter (alias `d`). Anything else is rejected with
// a message naming the expression, never guessed. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/diagnostic.h"
#include "planner/value.h"

namespace kha::planner {

// Supplies variable values to the evaluator.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // The variable's evaluated value, or nullopt when it is undefined. Failures while
  // evaluating the variable's own template are appended to *errors (and nullopt returned).
  virtual std::optional<Value> resolve(const std::string& name, Diagnostics* errors) = 0;
};

// True when the text contains a template marker ({{, {% or {#).
bool has_template(std::string_view text);

// Evaluates `text`. A text that is exactly one `{{ expr }}` keeps the expression's type;
// otherwise the pieces are joined into a string. On failure returns nullopt and sets *error
// to what is wrong ("undefined variable 'x' in '{{ x }}'", "unsupported template expression ...").
// Nested variable failures are appended to *nested.
std::optional<Value> evaluate_template(std::string_view text, Resolver& resolver, std::string* error,
                                       Diagnostics* nested);

// Evaluates every string inside `value` (lists and mappings too). Same contract.
std::optional<Value> evaluate_value(const Value& value, Resolver& resolver, std::string* error, Diagnostics* nested);

}  // namespace kha::planner
