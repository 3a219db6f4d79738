// Inventory parsers (INI, YAML, vars files), group nesting and Ansible's variable precedence.
#include "plan_fixture.h"
#include "planner/scope.h"

namespace kha::planner::testing {
namespace {

TEST(Ini, GroupsChildrenVarsAndHostVars) {
  Inventory inv;
  auto e = parse_ini_inventory(R"(# comment
; another
[kube_control_plane]
cp1 ansible_host=192.0.2.1 ip=10.0.0.1 port=6443 flag=True note="two words" list="[1, 'a']"
cp[2:3]

[etcd:children]
kube_control_plane

[kube_node]
node01:2222

[k8s_cluster:children]
kube_control_plane
kube_node

[k8s_cluster:vars]
dns_domain = example.test
ratio=0.5
)", "inv.ini", &inv);
  ASSERT_TRUE(e.empty()) << format_diagnostics(e);
  EXPECT_EQ(inv.hosts_of("kube_control_plane"), (std::vector<std::string>{"cp1", "cp2", "cp3"}));
  EXPECT_EQ(inv.hosts_of("etcd"), (std::vector<std::string>{"cp1", "cp2", "cp3"}));
  EXPECT_EQ(inv.hosts_of("k8s_cluster"), (std::vector<std::string>{"cp1", "cp2", "cp3", "node01"}));
  const Host& cp1 = *inv.find_host("cp1");
  EXPECT_EQ(cp1.vars.at("port").value, Value(6443));
  EXPECT_EQ(cp1.vars.at("flag").value, Value(true));
  EXPECT_EQ(cp1.vars.at("note").value, Value("two words"));
  EXPECT_EQ(cp1.vars.at("list").value, Value::array({1, "a"}));
  EXPECT_EQ(cp1.vars.at("ip").source.line, 4);
  EXPECT_EQ(inv.find_host("node01")->vars.at("ansible_port").value, Value(2222));
  const Group& k8s = *inv.find_group("k8s_cluster");
  EXPECT_EQ(k8s.vars.at("dns_domain").value, Value("example.test"));
  EXPECT_EQ(k8s.vars.at("ratio").value, Value(0.5));
  EXPECT_EQ(k8s.vars.at("dns_domain").source.line, 18);
  EXPECT_TRUE(inv.validate().empty());
}

Diagnostic first_error(const std::string& text, bool yaml = false) {
  Inventory inv;
  auto e = yaml ? parse_yaml_inventory(text, "hosts.yaml", &inv) : parse_ini_inventory(text, "inventory.ini", &inv);
  if (e.empty()) e = inv.validate();
  EXPECT_FALSE(e.empty()) << text;
  return e.empty() ? Diagnostic{} : e[0];
}

TEST(Ini, ErrorsCarryFileAndLine) {
  EXPECT_EQ(first_error("[kube_node\nn1\n").to_string(),
            "inventory.ini:1: expected a section header like [group], [group:children] or [group:vars], got '[kube_node'");
  EXPECT_EQ(first_error("[g:hostvars]\n").to_string(),
            "inventory.ini:1: section [g:hostvars] has unknown type 'hostvars' (expected children or vars)");
  EXPECT_EQ(first_error("[g]\nn1 ip\n").to_string(), "inventory.ini:2: n1: expected key=value host variable, got 'ip'");
  EXPECT_EQ(first_error("[g]\nn1\nn1\n").to_string(), "inventory.ini:3: n1: host listed twice in group [g]");
  EXPECT_EQ(first_error("[g:vars]\nnovalue\n").to_string(), "inventory.ini:2: g: expected key=value in [g:vars], got 'novalue'");
  EXPECT_EQ(first_error("[g]\nn1 a=\"open\n").line, 2);
  EXPECT_EQ(first_error("[g]\nn[3:1]\n").line, 2);
  EXPECT_EQ(first_error("[g]\nn1:99999\n").line, 2);
  EXPECT_EQ(first_error("stray ip=1.2.3.4\n[g]\nn1\n").to_string(),
            "inventory.ini:1: stray: host is in no group; Kubespray's plays only act on hosts in kube_control_plane, "
            "kube_node, etcd or calico_rr: add it to one or remove it");
  EXPECT_EQ(first_error("[a:children]\nb\n[b:children]\na\n").key, "a");
}

TEST(Yaml, KubesprayShape) {
  Inventory inv;
  auto e = parse_yaml_inventory(R"(all:
  hosts:
    cp1:
      ip: 10.0.0.1
      port: 6443
      quoted: "6443"
      on: yes
    w1:
  children:
    kube_control_plane:
      hosts:
        cp1:
    kube_node:
      hosts:
        w1:
    k8s_cluster:
      children:
        kube_control_plane:
        kube_node:
      vars:
        cluster_name: example.test
  vars:
    dns: 1
)", "hosts.yaml", &inv);
  ASSERT_TRUE(e.empty()) << format_diagnostics(e);
  EXPECT_EQ(inv.hosts_of("k8s_cluster"), (std::vector<std::string>{"cp1", "w1"}));
  const Host& cp1 = *inv.find_host("cp1");
  EXPECT_EQ(cp1.vars.at("port").value, Value(6443));
  EXPECT_EQ(cp1.vars.at("quoted").value, Value("6443"));
  EXPECT_EQ(cp1.vars.at("on").value, Value(true));
  EXPECT_EQ(cp1.vars.at("ip").source.line, 4);
  EXPECT_EQ(inv.find_group("k8s_cluster")->vars.at("cluster_name").source.line, 21);
  EXPECT_EQ(inv.find_group("all")->vars.at("dns").value, Value(1));
  EXPECT_TRUE(inv.validate().empty());
}

TEST(Yaml, ErrorsCarryFileAndLine) {
  const auto bad = first_error("all:\n  hosts:\n    cp1: [\n", true);
  EXPECT_EQ(bad.file, "hosts.yaml");
  EXPECT_GT(bad.line, 0);
  EXPECT_NE(bad.message.find("invalid YAML"), std::string::npos);
  EXPECT_EQ(first_error("all:\n  childs:\n    g: {}\n", true).to_string(),
            "hosts.yaml:2: all.childs: unexpected key in group 'all' (expected hosts, children or vars)");
  EXPECT_EQ(first_error("all:\n  children:\n    g:\n      hosts:\n        n1:\n        n1:\n", true).to_string(),
            "hosts.yaml:6: n1: duplicate key");
  EXPECT_EQ(first_error("- a\n- b\n", true).line, 1);
  EXPECT_EQ(first_error("all:\n  hosts:\n    lonely:\n", true).key, "lonely");  // host in no group
}

TEST(VarsFile, LinesAndErrors) {
  auto v = parse_vars_yaml("---\n# c\na: 1\nb: \"{{ a }}\"\n", "group_vars/all/all.yml", "group_vars/all");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value().at("b").source.to_string(), "group_vars/all/all.yml:4");
  auto list = parse_vars_yaml("- 1\n", "x.yml", "l");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.errors()[0].to_string(), "x.yml:1: expected a mapping of variable names to values");
  auto dup = parse_vars_yaml("a: 1\na: 2\n", "x.yml", "l");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.errors()[0].to_string(), "x.yml:2: a: duplicate variable (first set on line 1)");
  EXPECT_TRUE(parse_vars_yaml("", "x.yml", "l").ok());
}

TEST(IniLiteral, AnsibleRules) {
  EXPECT_EQ(parse_ini_literal("6443"), Value(6443));
  EXPECT_EQ(parse_ini_literal("true"), Value("true"));  // only Python's True is a boolean
  EXPECT_EQ(parse_ini_literal("None"), Value(nullptr));
  EXPECT_EQ(parse_ini_literal("{'address': '10.0.0.1', 'port': 8383}"), (Value{{"address", "10.0.0.1"}, {"port", 8383}}));
  EXPECT_EQ(parse_ini_literal("10.0.0.1"), Value("10.0.0.1"));
  EXPECT_EQ(parse_ini_literal("[1,"), Value("[1,"));
}

// all < parent group < child group < host < -e; group_vars files override the inventory file.
TEST(Precedence, AnsibleOrder) {
  Inventory inv = make_inventory(R"([kube_control_plane]
cp1 v_host=inline
cp2
[k8s_cluster:children]
kube_control_plane
[k8s_cluster:vars]
v_child=parent
v_parent=parent
[kube_control_plane:vars]
v_child=child
)", "v_all: all\nv_parent: all\nv_child: all\nv_host: all\nv_e: all\n");
  inv.hosts().at("cp1").file_vars["v_host"] = Var{Value("host_vars"), Source{"host_vars/cp1.yml", 1, "host_vars/cp1"}};
  inv.groups().at("kube_control_plane").file_vars["v_inline_vs_file"] = Var{Value("file"), Source{"gv", 1, "g"}};
  inv.groups().at("kube_control_plane").vars["v_inline_vs_file"] = Var{Value("inline"), Source{"inv", 1, "g"}};
  inv.extra_vars["v_e"] = Var{Value("extra"), Source{"", 0, "-e"}};
  const VarMap none;
  Scope s(inv, "cp1", none, nullptr);
  EXPECT_EQ(*s.get("v_all"), Value("all"));
  EXPECT_EQ(*s.get("v_parent"), Value("parent"));
  EXPECT_EQ(*s.get("v_child"), Value("child"));
  EXPECT_EQ(*s.get("v_host"), Value("host_vars"));
  EXPECT_EQ(*s.get("v_e"), Value("extra"));
  EXPECT_EQ(*s.get("v_inline_vs_file"), Value("file"));
  Scope s2(inv, "cp2", none, nullptr);
  EXPECT_EQ(*s2.get("v_host"), Value("all"));
  EXPECT_FALSE(s2.get("nothing"));
}

TEST(Scope, TemplateCycleIsAnError) {
  Inventory inv = make_inventory("[g]\nh\n", "a: \"{{ b }}\"\nb: \"{{ a }}\"\n");
  const VarMap none;
  Scope s(inv, "h", none, nullptr);
  EXPECT_FALSE(s.get("a"));
  ASSERT_FALSE(s.errors().empty());
  EXPECT_NE(s.errors()[0].message.find("refers to itself"), std::string::npos);
}

}  // namespace
}  // namespace kha::planner::testing
