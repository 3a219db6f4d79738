// libFuzzer target: the template evaluator on arbitrary text, with a few variables defined
// (scalars, a mapping, a list). Must return a value or an error, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "planner/template.h"

namespace {

class FixedResolver : public kha::planner::Resolver {
 public:
  FixedResolver() {
    vars_["port"] = 6443;
    vars_["name"] = "cp1";
    vars_["flag"] = false;
    vars_["lb"] = kha::planner::Value{{"address", "10.0.0.1"}, {"port", 8383}};
    vars_["list"] = kha::planner::Value::array({"a", 1, nullptr});
  }
  std::optional<kha::planner::Value> resolve(const std::string& name, kha::Diagnostics*) override {
    if (!vars_.contains(name)) return std::nullopt;
    return vars_[name];
  }

 private:
  kha::planner::Value vars_ = kha::planner::Value::object();
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  FixedResolver resolver;
  std::string error;
  kha::Diagnostics nested;
  auto v = kha::planner::evaluate_template(text, resolver, &error, &nested);
  if (!v && error.empty()) __builtin_trap();  // a failure must say why
  auto literal = kha::planner::parse_ini_literal(text);
  (void)literal;
  return 0;
}
