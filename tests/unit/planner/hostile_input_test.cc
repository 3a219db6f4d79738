// Hostile inventories (issue #14): alias bombs, template blow-ups and host names that would
// become paths outside their directory end in diagnostics, never in a crash.
#include <filesystem>

#include "plan_fixture.h"
#include "planner/render.h"
#include "planner/scope.h"
#include "planner/yaml_value.h"

namespace kha::planner::testing {
namespace {

// "Billion laughs": nine levels of nine aliases, 9^9 (387 million) strings once expanded,
// from `indent`-indented lines like "a: &a [...]" (the 542-byte file of the issue).
std::string alias_bomb(const std::string& indent) {
  std::string out = indent + "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const std::string prev(1, static_cast<char>(c - 1));
    out += indent + c + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) out += (i ? ",*" : "*") + prev;
    out += "]\n";
  }
  return out;
}

TEST(AliasBudget, YamlInventoryBombIsAnErrorNamingTheFile) {
  Inventory inv;
  const auto errors =
      parse_yaml_inventory("all:\n  hosts:\n    cp1:\n  vars:\n" + alias_bomb("    "), "hosts.yaml", &inv);
  ASSERT_EQ(errors.size(), 1u) << format_diagnostics(errors);
  EXPECT_EQ(errors[0].file, "hosts.yaml");
  EXPECT_GT(errors[0].line, 0);
  EXPECT_NE(errors[0].message.find("alias bomb"), std::string::npos) << errors[0].message;
}

TEST(AliasBudget, VarsFileBombIsAnErrorNamingTheFile) {
  const auto vars = parse_vars_yaml(alias_bomb(""), "group_vars/all.yml", "group_vars/all");
  ASSERT_FALSE(vars.ok());
  ASSERT_EQ(vars.errors().size(), 1u) << format_diagnostics(vars.errors());
  EXPECT_EQ(vars.errors()[0].file, "group_vars/all.yml");
  EXPECT_NE(vars.errors()[0].message.find("alias bomb"), std::string::npos);
}

// Many variables, each aliasing a part just under the budget: one budget for the whole file.
TEST(AliasBudget, IsSharedByEveryVariableOfTheDocument) {
  std::string text = "a: &a [" + std::string(1, '0');
  for (int i = 1; i < 1000; ++i) text += ",0";
  text += "]\nb: &b [*a";
  for (int i = 1; i < 500; ++i) text += ",*a";
  text += "]\n";  // b: 500 * 1000 values, half the budget
  for (int i = 0; i < 4; ++i) text += "v" + std::to_string(i) + ": *b\n";
  const auto vars = parse_vars_yaml(text, "all.yml", "group_vars/all");
  ASSERT_FALSE(vars.ok());
  ASSERT_EQ(vars.errors().size(), 1u) << format_diagnostics(vars.errors());
  EXPECT_EQ(vars.errors()[0].file, "all.yml");
  EXPECT_GT(vars.errors()[0].line, 0);  // yaml-cpp places an alias at its anchor
  EXPECT_EQ(vars.errors()[0].message.rfind("aliases expand this document past 1000000 values", 0), 0u);
}

// yaml-cpp lets an alias sit inside its own anchor: a cycle, as deep as you follow it.
TEST(AliasBudget, AliasInsideItsOwnAnchorIsOneError) {
  const auto vars = parse_vars_yaml("a: &a [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nb: {x: &m {y: *m, z: *m}}\n", "all.yml",
                                    "group_vars/all");
  ASSERT_FALSE(vars.ok());
  ASSERT_EQ(vars.errors().size(), 1u) << format_diagnostics(vars.errors());
  EXPECT_EQ(vars.errors()[0].to_string(), "all.yml:1: nesting deeper than 64 levels (an alias inside its own anchor?)");
}

TEST(AliasBudget, OrdinaryAliasesStillWork) {
  const auto vars = parse_vars_yaml("base: &base {port: 6443}\nlb: *base\nlist: [*base, *base]\n", "all.yml", "all");
  ASSERT_TRUE(vars.ok()) << format_diagnostics(vars.errors());
  EXPECT_EQ(vars.value().at("lb").value, Value::parse(R"({"port": 6443})"));
  EXPECT_EQ(vars.value().at("list").value.size(), 2u);
}

TEST(AliasBudget, CountsScalarBytesToo) {
  YamlBudget budget;
  Diagnostics errors;
  // 1 MiB aliased 16 * 5 = 80 times: 80 MiB of text from a 1 MiB document.
  std::string text = "a: &a " + std::string(1 << 20, 'x') + "\nb: &b [*a";
  for (int i = 1; i < 16; ++i) text += ", *a";
  text += "]\nc: [*b, *b, *b, *b, *b]\n";
  const YAML::Node doc = YAML::Load(text);
  yaml_to_value(doc, "big.yml", &errors, budget);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("64 MiB"), std::string::npos);
}

TEST(HostName, PathLikeNamesAreRefused) {
  EXPECT_EQ(host_name_problem("node-1.example"), "");
  EXPECT_EQ(host_name_problem("10.0.0.1"), "");
  EXPECT_EQ(host_name_problem("UPPER_case"), "");  // Kubespray's DNS-1123 assert, not ours
  EXPECT_EQ(host_name_problem(""), "is empty");
  EXPECT_EQ(host_name_problem("."), "is \".\"");
  EXPECT_EQ(host_name_problem(".."), "contains \"..\"");
  EXPECT_EQ(host_name_problem("../../../escaped"), "contains \"..\"");
  EXPECT_EQ(host_name_problem("a..b"), "contains \"..\"");
  EXPECT_EQ(host_name_problem("etc/passwd"), "contains '/'");
  EXPECT_EQ(host_name_problem("/abs"), "contains '/'");
  EXPECT_EQ(host_name_problem(std::string("a\0b", 3)), "contains a NUL byte");
  EXPECT_EQ(host_name_problem("a\nb"), "contains a control character");
}

TEST(HostName, InventoryValidateNamesTheHostEvenWithIgnoreAssertErrors) {
  Inventory inv;
  ASSERT_TRUE(parse_ini_inventory("[kube_control_plane]\ncp1 ip=10.0.0.1\n[kube_node]\n../../../escaped ip=10.0.0.2\n"
                                  "[all:vars]\nignore_assert_errors=true\n",
                                  "inventory.ini", &inv)
                  .empty());
  const auto errors = inv.validate();
  ASSERT_EQ(errors.size(), 1u) << format_diagnostics(errors);
  EXPECT_EQ(errors[0].to_string(),
            "inventory.ini:4: ../../../escaped: host name \"../../../escaped\" contains \"..\": host names become file "
            "names (host_vars/, --facts, kha plan render), so this one is refused even with ignore_assert_errors; "
            "rename the host");
}

TEST(HostName, YamlInventoryNamesAreCheckedToo) {
  Inventory inv;
  ASSERT_TRUE(parse_yaml_inventory("all:\n  children:\n    kube_node:\n      hosts:\n        \"a/b\":\n", "hosts.yaml", &inv)
                  .empty());
  const auto errors = inv.validate();
  ASSERT_EQ(errors.size(), 1u) << format_diagnostics(errors);
  EXPECT_EQ(errors[0].file, "hosts.yaml");
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_NE(errors[0].message.find("contains '/'"), std::string::npos);
}

// Belt and braces behind host_name_problem(): render paths are checked again where they are
// written. Nothing is created, not even --out, when one is refused.
TEST(RenderWriter, RefusesPathsThatLeaveOut) {
  const std::filesystem::path out = std::filesystem::path(::testing::TempDir()) / "kha-render-writer-refuses";
  std::filesystem::remove_all(out);
  for (const char* bad : {"hosts/../../x", "/etc/x", "hosts/./x", ""}) {
    const auto r = write_rendered({{"ok/file", "a", false}, {bad, "b", false}}, out.string(), false);
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    EXPECT_NE(r.errors[0].message.find("it would leave --out"), std::string::npos) << r.errors[0].message;
    EXPECT_TRUE(r.report.empty());
    EXPECT_FALSE(std::filesystem::exists(out)) << bad;
  }
}

// v1 reads v0 ten times, v2 reads v1 ten times...: 10^9 reads without the budget.
std::string chained_vars() {
  std::string vars = "v0: \"x\"\n";
  for (int i = 1; i <= 9; ++i) {
    vars += "v" + std::to_string(i) + ": \"";
    for (int j = 0; j < 10; ++j) vars += "{{ v" + std::to_string(i - 1) + " }}";
    vars += "\"\n";
  }
  return vars;
}

TEST(TemplateBudget, MutuallyReferringVariablesStop) {
  Inventory inv = make_inventory("[g]\nh\n", chained_vars());
  const VarMap none;
  Scope s(inv, "h", none, nullptr);
  EXPECT_FALSE(s.get("v9"));
  ASSERT_EQ(s.errors().size(), 1u) << format_diagnostics(s.errors());
  EXPECT_EQ(s.errors()[0].to_string(),
            "group_vars/all.yml:10: v9: evaluating it for host 'h' read more than 100000 variables or built more than "
            "64 MiB (variables that refer to each other many times over?); kha plan stops here");
  EXPECT_FALSE(s.get("v0")) << "a scope whose budget ran out stays stopped";
  EXPECT_TRUE(s.stopped());
}

// Every read after the budget ran out is undefined: plan() reports the cause, not its echoes.
TEST(TemplateBudget, PlanReportsOnlyTheCause) {
  Inventory inv = make_inventory(kBaseIni, chained_vars() + "kube_apiserver_port: \"{{ v9 }}\"\n");
  PlanInput in;
  in.inventory = &inv;
  const auto r = plan(in);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors().size(), 1u) << format_diagnostics(r.errors());
  EXPECT_EQ(r.errors()[0].key, "kube_apiserver_port");
  EXPECT_EQ(r.errors()[0].line, 11);
}

TEST(TemplateBudget, ListsThatDoubleStopOnSize) {
  // A 1 MiB string doubled by lists: 2^7 copies pass 64 MiB long before 100000 reads.
  std::string vars = "l0: \"" + std::string(1 << 20, 'x') + "\"\n";
  for (int i = 1; i <= 12; ++i)
    vars += "l" + std::to_string(i) + ": [\"{{ l" + std::to_string(i - 1) + " }}\", \"{{ l" + std::to_string(i - 1) +
            " }}\"]\n";
  Inventory inv = make_inventory("[g]\nh\n", vars);
  const VarMap none;
  Scope s(inv, "h", none, nullptr);
  EXPECT_FALSE(s.get("l12"));
  ASSERT_EQ(s.errors().size(), 1u) << format_diagnostics(s.errors());
  EXPECT_EQ(s.errors()[0].key, "l12");
}

TEST(TemplateBudget, OrdinaryReferencesAreUnaffected) {
  Inventory inv = make_inventory("[g]\nh\n", "port: 6443\nurl: \"https://lb:{{ port }}\"\n");
  const VarMap none;
  Scope s(inv, "h", none, nullptr);
  EXPECT_EQ(*s.get("url"), Value("https://lb:6443"));
  EXPECT_TRUE(s.errors().empty());
}

}  // namespace
}  // namespace kha::planner::testing
