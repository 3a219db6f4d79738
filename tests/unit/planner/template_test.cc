// The template evaluator: references, dotted access, default(); everything else rejected.
#include <gtest/gtest.h>

#include "planner/template.h"

namespace kha::planner {
namespace {

class MapResolver : public Resolver {
 public:
  Value vars = Value::object();
  std::optional<Value> resolve(const std::string& name, Diagnostics*) override {
    if (!vars.contains(name)) return std::nullopt;
    return vars[name];
  }
};

struct Eval {
  std::optional<Value> value;
  std::string error;
};

Eval eval(MapResolver& r, const std::string& text) {
  Eval e;
  Diagnostics nested;
  e.value = evaluate_template(text, r, &e.error, &nested);
  return e;
}

TEST(Template, Reference) {
  MapResolver r;
  r.vars["port"] = 6443;
  r.vars["name"] = "cp1";
  EXPECT_EQ(*eval(r, "{{ port }}").value, Value(6443));  // one expression keeps its type
  EXPECT_EQ(*eval(r, "https://{{name}}:{{ port }}").value, Value("https://cp1:6443"));
  EXPECT_EQ(*eval(r, "plain").value, Value("plain"));
}

TEST(Template, DottedAndSubscriptAccess) {
  MapResolver r;
  r.vars["lb"] = Value{{"address", "10.0.0.1"}, {"port", 8383}};
  r.vars["list"] = Value::array({"a", "b"});
  EXPECT_EQ(*eval(r, "{{ lb.port }}").value, Value(8383));
  EXPECT_EQ(*eval(r, "{{ lb['address'] }}").value, Value("10.0.0.1"));
  EXPECT_EQ(*eval(r, "{{ list[1] }}").value, Value("b"));
  EXPECT_EQ(*eval(r, "{{ list.0 }}").value, Value("a"));
}

TEST(Template, Default) {
  MapResolver r;
  r.vars["empty"] = "";
  r.vars["port"] = 6443;
  EXPECT_EQ(*eval(r, "{{ missing | default(8443) }}").value, Value(8443));
  EXPECT_EQ(*eval(r, "{{ missing | d('x') }}").value, Value("x"));
  EXPECT_EQ(*eval(r, "{{ missing.deeper | default(port) }}").value, Value(6443));
  EXPECT_EQ(*eval(r, "{{ empty | default('fallback') }}").value, Value(""));
  EXPECT_EQ(*eval(r, "{{ empty | default('fallback', true) }}").value, Value("fallback"));
  EXPECT_EQ(*eval(r, "{{ port | default(1) }}").value, Value(6443));
  EXPECT_EQ(*eval(r, "{{ missing | default(false) }}").value, Value(false));
}

TEST(Template, UndefinedNamesTheVariable) {
  MapResolver r;
  r.vars["lb"] = Value{{"address", "10.0.0.1"}};
  auto e = eval(r, "{{ nope }}");
  EXPECT_FALSE(e.value);
  EXPECT_EQ(e.error, "undefined variable 'nope' in '{{ nope }}'");
  e = eval(r, "{{ lb.port }}");
  EXPECT_EQ(e.error, "undefined variable 'lb.port' in '{{ lb.port }}'");
}

TEST(Template, UnsupportedIsAnError) {
  MapResolver r;
  r.vars["x"] = "a";
  for (const char* text : {"{{ x | upper }}", "{{ x ~ 'b' }}", "{{ x + 1 }}", "{{ lookup('env', 'HOME') }}",
                           "{{ x if x else 'b' }}", "{% if x %}a{% endif %}", "{{ groups['etcd'][0] }}x{{ x.split(',') }}",
                           "{{ x", "{{ }}", "{{ 'unterminated }}"}) {
    auto e = eval(r, text);
    EXPECT_FALSE(e.value) << text;
    EXPECT_FALSE(e.error.empty()) << text;
  }
  auto e = eval(r, "{{ x | upper }}");
  EXPECT_EQ(e.error, "unsupported template expression '{{ x | upper }}' in '{{ x | upper }}': filter 'upper'; kha "
                     "evaluates variables, dotted access and the default() filter");
}

TEST(Template, NestedValues) {
  MapResolver r;
  r.vars["d"] = "cluster.local";
  Value list = Value::array({"etcd.{{ d }}", "etcd"});
  std::string err;
  Diagnostics nested;
  auto v = evaluate_value(list, r, &err, &nested);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, Value::array({"etcd.cluster.local", "etcd"}));
}

}  // namespace
}  // namespace kha::planner

namespace kha::planner {
namespace {

// Found by fuzz/template_fuzzer: a string with invalid UTF-8 joined into a larger
// string made the JSON serializer throw. Inventories are not always UTF-8.
TEST(Template, InvalidUtf8InAJoinedValueDoesNotThrow) {
  MapResolver r;
  const std::string text = "ttt{{ l[\"p\x91\"]|default(true) }}{{ [\"p\x91\"]|default(true) }}}";
  Eval e;
  EXPECT_NO_THROW(e = eval(r, text));
  EXPECT_TRUE(e.value.has_value() || !e.error.empty());
}

}  // namespace
}  // namespace kha::planner

namespace kha::planner {
namespace {

// Found by fuzz/template_fuzzer in CI: a subscript whose key is a list holding invalid
// UTF-8 made the message that names the key throw.
TEST(Template, InvalidUtf8InASubscriptKeyDoesNotThrow) {
  MapResolver r;
  r.vars["au"] = Value::object();
  const std::string text = "{{ au[[\"p\x08+\x08\x91\xff\xffli\"]] }}";
  Eval e;
  EXPECT_NO_THROW(e = eval(r, text));
  EXPECT_TRUE(e.value.has_value() || !e.error.empty());
}

TEST(JsonText, InvalidUtf8BecomesTheReplacementCharacter) {
  EXPECT_EQ(json_text(Value("a\x91z")), "\"a\xef\xbf\xbdz\"");
}

}  // namespace
}  // namespace kha::planner
