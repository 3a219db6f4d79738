"""kha plan on bad input: every case is a clear message naming the file and line, exit 2,
never a crash (no signal, no sanitizer report)."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import harness

GOOD_INI = """[kube_control_plane]
cp1 ip=10.0.0.1
[etcd]
cp1
[kube_node]
w1 ip=10.0.0.2
[k8s_cluster:children]
kube_control_plane
kube_node
"""


class BadInput(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kha-plan-bad-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, rel, text):
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def plan(self, *args):
        r = subprocess.run([harness.kha_bin(), "plan", "-i", str(self.dir), *map(str, args)],
                           capture_output=True, text=True, timeout=30)
        self.assertGreaterEqual(r.returncode, 0, f"killed by a signal: {r.stderr}")
        self.assertNotIn("runtime error", r.stderr)
        self.assertNotIn("AddressSanitizer", r.stderr)
        return r

    def assertRejected(self, expected, *args):
        r = self.plan(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(expected, r.stderr)
        return r

    def test_malformed_ini(self):
        self.write("inventory.ini", "[kube_control_plane]\ncp1 ip=10.0.0.1\n[etcd\ncp1\n")
        self.assertRejected(f"{self.dir}/inventory.ini:3: expected a section header")

    def test_malformed_yaml_inventory(self):
        self.write("hosts.yaml", "all:\n  children:\n    kube_control_plane:\n      hosts: [cp1\n")
        r = self.assertRejected(f"{self.dir}/hosts.yaml:")
        self.assertIn("invalid YAML", r.stderr)

    def test_malformed_group_vars(self):
        self.write("inventory.ini", GOOD_INI)
        self.write("group_vars/all/all.yml", "---\nkube_apiserver_port: 6443\n  bad indent: [\n")
        self.assertRejected(f"{self.dir}/group_vars/all/all.yml:3")

    def test_host_in_no_group(self):
        self.write("inventory.ini", "lonely ip=10.0.0.9\n" + GOOD_INI)
        self.assertRejected(f"{self.dir}/inventory.ini:1: lonely: host is in no group")

    def test_duplicate_host(self):
        self.write("inventory.ini", GOOD_INI.replace("cp1 ip=10.0.0.1\n", "cp1 ip=10.0.0.1\ncp1\n", 1))
        self.assertRejected(f"{self.dir}/inventory.ini:3: cp1: host listed twice in group [kube_control_plane]")

    def test_duplicate_host_yaml(self):
        self.write("hosts.yaml", "all:\n  children:\n    kube_control_plane:\n      hosts:\n        cp1:\n        cp1:\n")
        self.assertRejected(f"{self.dir}/hosts.yaml:6: cp1: duplicate key")

    def test_invalid_ip(self):
        self.write("inventory.ini", GOOD_INI)
        self.write("host_vars/w1.yml", "---\nip: 10.0.0.256\n")
        self.assertRejected(f"{self.dir}/host_vars/w1.yml:2: ip: expected an IPv4 address, got '10.0.0.256'")

    def test_undefined_variable(self):
        self.write("inventory.ini", GOOD_INI)
        self.write("group_vars/k8s_cluster/k8s-cluster.yml", "kube_apiserver_port: \"{{ apiserver_port }}\"\n")
        self.assertRejected(f"{self.dir}/group_vars/k8s_cluster/k8s-cluster.yml:1: kube_apiserver_port: "
                            "undefined variable 'apiserver_port'")

    def test_unsupported_template(self):
        self.write("inventory.ini", GOOD_INI)
        self.write("group_vars/all.yml", "x: 1\nloadbalancer_apiserver_port: \"{{ x | int + 1 }}\"\n")
        r = self.assertRejected(f"{self.dir}/group_vars/all.yml:2: loadbalancer_apiserver_port: "
                                "unsupported template expression '{{ x | int + 1 }}'")
        self.assertIn("filter 'int'", r.stderr)

    def test_unreadable_facts_file(self):
        self.write("inventory.ini", GOOD_INI)
        facts = self.dir / "facts"
        (facts / "cp1").mkdir(parents=True)  # a directory where the JSON file should be
        self.assertRejected(f"{facts}/cp1: cannot read", "--facts", facts)
        shutil.rmtree(facts / "cp1")
        self.write("facts/cp1", '{"ansible_facts": {\n  "ansible_default_ipv4": {"address": \n')
        self.assertRejected(f"{facts}/cp1:3: expected Ansible facts as a JSON object", "--facts", facts)

    def test_missing_inventory(self):
        r = subprocess.run([harness.kha_bin(), "plan", "-i", str(self.dir / "nope")], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope: no such file or directory", r.stderr)

    def test_rejected_setting_exits_2_and_renders_nothing(self):
        self.write("inventory.ini", GOOD_INI.replace("[etcd]\ncp1\n", "[etcd]\ncp1\nw1\n"))
        r = self.plan("-o", "json")
        self.assertEqual(r.returncode, 2)
        self.assertIn("error [etcd-even] etcd:", r.stderr)
        self.assertIn('"code": "etcd-even"', r.stdout)
        out = self.dir / "out"
        rr = subprocess.run([harness.kha_bin(), "plan", "render", "-i", str(self.dir), "--out", str(out)],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(rr.returncode, 2)
        self.assertIn("nothing rendered", rr.stderr)
        self.assertFalse(out.exists())

    def test_lb_without_address_or_name(self):
        self.write("inventory.ini", GOOD_INI)
        self.write("group_vars/all/all.yml", "loadbalancer_apiserver:\n  port: 8383\n")
        self.assertRejected("error [lb-no-address] loadbalancer_apiserver:")

    def test_fuzzed_inputs_never_crash(self):
        # A few hostile shapes the fuzzers found worth keeping.
        for text in ["[", "[a:children]\na\n", "[g]\nh[0:99999999]\n", "all: {children: {all: {}}}\n",
                     "[g]\nh a='''\n", "\x00\xff", "all:\n  hosts:\n    h: [1, {2: 3}]\n"]:
            for name in ("inventory.ini", "hosts.yaml"):
                with self.subTest(text=text, name=name):
                    for f in self.dir.iterdir():
                        if f.is_file():
                            f.unlink()
                    self.write(name, text)
                    r = self.plan()
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
