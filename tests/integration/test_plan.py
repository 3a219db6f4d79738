"""kha plan end to end: Kubespray-layout inventories (INI and YAML, group_vars/all/,
group_vars/k8s_cluster/, host_vars/) read through the binary and compared with golden JSON.

Regenerate the golden files after an intended change with KHA_UPDATE_GOLDEN=1 and review the diff.
"""
import json
import os
import subprocess
import unittest
from pathlib import Path

from support import harness

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "plan"


def kha(*args, timeout=30):
    return subprocess.run([harness.kha_bin(), *map(str, args)], capture_output=True, text=True, timeout=timeout)


class GoldenPlan(unittest.TestCase):
    CASES = [
        ("ini-local-lb", ["--facts", FIXTURES / "ini-local-lb" / "facts"], "expected.json"),
        ("ini-local-lb", ["--facts", FIXTURES / "ini-local-lb" / "facts", "--kubespray", "2.28"], "expected-2.28.json"),
        ("yaml-external-lb", [], "expected.json"),
        ("yaml-external-lb", ["--kubespray", "2.28"], "expected-2.28.json"),
    ]

    def test_golden_json(self):
        for name, extra, golden in self.CASES:
            with self.subTest(inventory=name, golden=golden):
                # Run from the fixtures directory so that file names in the output are stable.
                r = subprocess.run([harness.kha_bin(), "plan", "-i", name, "-o", "json", *map(str, extra)],
                                   capture_output=True, text=True, timeout=30, cwd=FIXTURES)
                self.assertEqual(r.returncode, 0, r.stderr)
                got = json.loads(r.stdout)
                path = FIXTURES / name / golden
                if os.environ.get("KHA_UPDATE_GOLDEN") == "1":
                    path.write_text(json.dumps(got, indent=2) + "\n")
                self.assertEqual(got, json.loads(path.read_text()))

    def test_inventory_file_instead_of_directory(self):
        a = kha("plan", "-i", FIXTURES / "yaml-external-lb", "-o", "json")
        b = kha("plan", "-i", FIXTURES / "yaml-external-lb" / "hosts.yaml", "-o", "json")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(json.loads(a.stdout), json.loads(b.stdout))

    def test_yaml_output_matches_json(self):
        j = kha("plan", "-i", FIXTURES / "yaml-external-lb", "-o", "json")
        y = kha("plan", "-i", FIXTURES / "yaml-external-lb", "-o", "yaml")
        self.assertEqual(y.returncode, 0, y.stderr)
        data = json.loads(j.stdout)
        # Standard library only: spot-check the YAML text for fields and values.
        self.assertIn('kube_apiserver_global_endpoint: "https://my-apiserver-lb.example.com:8383"', y.stdout)
        self.assertIn("loadbalancer_apiserver_localhost: false", y.stdout)
        for host in data["hosts"]:
            self.assertIn(f"{host}:\n", y.stdout)

    def test_table_marks_assumed_facts(self):
        with_facts = kha("plan", "-i", FIXTURES / "ini-local-lb", "--facts", FIXTURES / "ini-local-lb" / "facts")
        without = kha("plan", "-i", FIXTURES / "ini-local-lb")
        self.assertEqual(with_facts.returncode, 0, with_facts.stderr)
        self.assertIn("node1 (kube_node)", with_facts.stdout)
        self.assertIn("https://localhost:6443", with_facts.stdout)
        self.assertNotIn("rests on a fact", with_facts.stdout)
        self.assertIn("* rests on a fact that was not gathered", without.stdout)

    def test_extra_vars_override_everything(self):
        r = kha("plan", "-i", FIXTURES / "ini-local-lb", "-o", "json", "-e", "kube_apiserver_port=7443",
                "-e", "loadbalancer_apiserver_port=7443")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        self.assertEqual(got["hosts"]["cp1"]["kube_apiserver_endpoint"], "https://127.0.0.1:7443")
        self.assertEqual(got["hosts"]["node1"]["kube_apiserver_endpoint"], "https://localhost:7443")

    def test_extra_vars_file(self):
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"kha-plan-e-{os.getpid()}.yml"
        tmp.write_text("loadbalancer_apiserver:\n  address: 10.0.0.100\n  port: 8383\n"
                       "loadbalancer_apiserver_localhost: false\n")
        try:
            r = kha("plan", "-i", FIXTURES / "ini-local-lb", "-o", "json", "-e", f"@{tmp}")
        finally:
            tmp.unlink()
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        self.assertEqual(got["cluster"]["kube_apiserver_global_endpoint"], "https://10.0.0.100:8383")
        self.assertEqual(got["cluster"]["localhost_lb"]["installed_on"], [])

    def test_explain_names_rule_and_files(self):
        r = kha("plan", "explain", "-i", FIXTURES / "yaml-external-lb", "worker1", "kube_apiserver_endpoint")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('worker1 kube_apiserver_endpoint = "https://my-apiserver-lb.example.com:8383"', r.stdout)
        self.assertIn("rule: loadbalancer_apiserver is defined", r.stdout)
        self.assertRegex(r.stdout, r"loadbalancer_apiserver = .*group_vars/all/all.yml:3")
        self.assertRegex(r.stdout, r"apiserver_loadbalancer_domain_name = .*group_vars/all/all.yml:2")
        c = kha("plan", "explain", "-i", FIXTURES / "yaml-external-lb", "cluster", "kube_proxy_kubeconfig_server")
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("kubeadm/tasks/main.yml", c.stdout)
        bad = kha("plan", "explain", "-i", FIXTURES / "yaml-external-lb", "nohost", "kube_apiserver_endpoint")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("nohost: no such host", bad.stderr)


if __name__ == "__main__":
    unittest.main()
