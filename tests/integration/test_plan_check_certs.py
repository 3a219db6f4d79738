"""kha plan check-certs end to end: stand-in apiservers and etcd members on loopback
(127.0.0.2-4, one port for all apiservers as in a cluster) serving certificates from a test
CA, an inventory pointing at them. Complete certificates (the SANs the plan itself says
kubeadm and Kubespray write) pass; deliberately incomplete ones are reported name by name
with exit 1; a stopped or hung endpoint is reported within the timeout.
"""
import json
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from support import harness
from support.certs import issue_server

CPS = {"cp1": "127.0.0.2", "cp2": "127.0.0.3", "cp3": "127.0.0.4"}
LB_NAME = "api.check-certs.test"


def kha(*args, timeout=60):
    return subprocess.run([harness.kha_bin(), *map(str, args)], capture_output=True, text=True, timeout=timeout)


class CheckCerts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="kha-check-certs-")
        cls.root = Path(cls.tmp.name)
        cls.pki = harness.make_ca(cls.root / "pki")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def inventory(self, api_port, etcd_port):
        inv = self.root / f"inv-{api_port}"
        (inv / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
        lines = ["[kube_control_plane]"]
        lines += [f"{h} ip={a} etcd_client_url=https://{a}:{etcd_port}" for h, a in CPS.items()]
        lines += ["", "[etcd:children]", "kube_control_plane", "", "[kube_node]", "w1 ip=127.0.0.11", "",
                  "[k8s_cluster:children]", "kube_control_plane", "kube_node", ""]
        (inv / "inventory.ini").write_text("\n".join(lines))
        (inv / "group_vars" / "all" / "all.yml").write_text(
            f"kube_apiserver_port: {api_port}\napiserver_loadbalancer_domain_name: {LB_NAME}\n")
        return inv

    def plan(self, inv):
        r = kha("plan", "-i", inv, "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def start(self, inv, api_sans, etcd_sans, api_port, etcd_port):
        """One stand-in per apiserver and etcd member; *_sans: host -> SAN list. Returns them by name."""
        started = {}
        for host, addr in CPS.items():
            for kind, sans, port in (("api", api_sans, api_port), ("etcd", etcd_sans, etcd_port)):
                cert, key = issue_server(self.pki, f"{kind}-{host}-{port}", sans[host])
                started[f"{kind}-{host}"] = harness.start_standin(f"{kind}-{host}", cert=cert, key=key, host=addr,
                                                                  port=port, owner=self)
        return started

    def ports(self):
        # One apiserver port on all three addresses, as kube_apiserver_port is one value.
        return harness.free_port("127.0.0.2"), harness.free_port("127.0.0.2")

    def complete_sans(self, plan):
        api = {h: plan["hosts"][h]["apiserver_cert_sans"]["dns"] + plan["hosts"][h]["apiserver_cert_sans"]["ip"]
               for h in CPS}
        etcd_set = plan["cluster"]["etcd"]["member_cert_sans"]
        etcd = {h: etcd_set["dns"] + etcd_set["ip"] for h in CPS}
        return api, etcd

    def check(self, inv, *extra):
        r = kha("plan", "check-certs", "-i", inv, "-o", "json", *extra)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return r.returncode, json.loads(r.stdout)

    def test_complete_certificates_pass(self):
        api_port, etcd_port = self.ports()
        inv = self.inventory(api_port, etcd_port)
        plan = self.plan(inv)
        api, etcd = self.complete_sans(plan)
        self.assertIn(LB_NAME, api["cp1"])
        self.start(inv, api, etcd, api_port, etcd_port)
        code, report = self.check(inv)
        self.assertEqual(code, 0, json.dumps(report, indent=1))
        self.assertTrue(report["ok"])
        self.assertEqual([(e["component"], e["host"], e["status"]) for e in report["endpoints"]],
                         [("apiserver", h, "ok") for h in CPS] + [("etcd", h, "ok") for h in CPS])
        text = kha("plan", "check-certs", "-i", inv)
        self.assertEqual(text.returncode, 0, text.stdout + text.stderr)
        self.assertIn("6 endpoints: 6 ok, 0 missing names, 0 unreachable", text.stdout)

    def test_incomplete_certificates_reported_exactly(self):
        api_port, etcd_port = self.ports()
        inv = self.inventory(api_port, etcd_port)
        api, etcd = self.complete_sans(self.plan(inv))
        # cp1: the LB name replaced by a wildcard that covers it; 127.0.0.1 missing.
        api["cp1"] = ["*.check-certs.test" if n == LB_NAME else n for n in api["cp1"] if n != "127.0.0.1"]
        # cp2: the LB name only under a wildcard one label too deep, its own address missing.
        api["cp2"] = ["*.x.check-certs.test" if n == LB_NAME else n for n in api["cp2"] if n != CPS["cp2"]]
        # cp3's etcd member: no loopback.
        etcd["cp3"] = [n for n in etcd["cp3"] if n not in ("127.0.0.1", "localhost")]
        self.start(inv, api, etcd, api_port, etcd_port)
        code, report = self.check(inv)
        self.assertEqual(code, 1, json.dumps(report, indent=1))
        self.assertFalse(report["ok"])
        missing = {(e["component"], e["host"]): sorted(m["name"] for m in e.get("missing", []))
                   for e in report["endpoints"]}
        self.assertEqual(missing, {
            ("apiserver", "cp1"): ["127.0.0.1"],
            ("apiserver", "cp2"): sorted([LB_NAME, CPS["cp2"]]),
            ("apiserver", "cp3"): [],
            ("etcd", "cp1"): [],
            ("etcd", "cp2"): [],
            ("etcd", "cp3"): ["127.0.0.1"],
        })
        dialed_by = {m["name"]: m["dialed_by"] for m in report["endpoints"][1]["missing"]}
        self.assertIn("apiserver_loadbalancer_domain_name", dialed_by[LB_NAME])
        self.assertIn(f"localhost LB upstream {CPS['cp2']}:{api_port}", dialed_by[CPS["cp2"]])
        text = kha("plan", "check-certs", "-i", inv)
        self.assertEqual(text.returncode, 1)
        self.assertIn(f"apiserver cp2 {CPS['cp2']}:{api_port}: MISSING 2 of", text.stdout)
        self.assertIn("6 endpoints: 3 ok, 3 missing names, 0 unreachable", text.stdout)

    def test_unreachable_and_hung_endpoints_reported_within_the_timeout(self):
        api_port, etcd_port = self.ports()
        inv = self.inventory(api_port, etcd_port)
        api, etcd = self.complete_sans(self.plan(inv))
        standins = self.start(inv, api, etcd, api_port, etcd_port)
        # cp2's apiserver gone, cp3's accepts connections but never answers (SIGSTOP).
        standins["api-cp2"].stop()
        hung = standins["api-cp3"]
        hung.hang()
        self.addCleanup(hung.resume)
        started = time.monotonic()
        code, report = self.check(inv, "--timeout", "1s")
        took = time.monotonic() - started
        self.assertEqual(code, 1)
        status = {(e["component"], e["host"]): (e["status"], e.get("error", "")) for e in report["endpoints"]}
        self.assertEqual(status[("apiserver", "cp1")], ("ok", ""))
        self.assertEqual(status[("apiserver", "cp2")][0], "unreachable")
        self.assertIn("refused", status[("apiserver", "cp2")][1])
        self.assertEqual(status[("apiserver", "cp3")][0], "unreachable")
        self.assertIn("timed out after 1000ms", status[("apiserver", "cp3")][1])
        self.assertLess(took, 10.0)  # the endpoints are read at once, each bounded by --timeout

    def test_bad_timeout_is_a_usage_error(self):
        inv = self.inventory(6443, 2379)
        r = kha("plan", "check-certs", "-i", inv, "--timeout", "soon")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--timeout soon", r.stderr)


if __name__ == "__main__":
    unittest.main()
