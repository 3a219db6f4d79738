"""kha vip's command line: config errors name file:line:column and key (exit 2), flag errors
name the flag (exit 2), a missing capability is named (exit 1), and a `vip:` section in the
same YAML file as the proxy's config runs an instance (in a lab namespace).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from support.vip_lab import VIP, Lab, unavailable_reason, wait_until

KHA = os.environ.get("KHA_BIN", "kha")
LAB_REASON = unavailable_reason()

CONFIG = """log_format: text
admin:
  listen: 127.0.0.1:8081
frontends:
  - name: apiserver
    listen: ["127.0.0.1:6443"]
    backends:
      - name: cp1
        address: 10.0.0.1:6443
vip:
  interface: eth0
  vrid: 51
  priority: 150
  addresses: [%s/24]
  admin: 127.0.0.1:9099
"""


def kha(*args, **kw):
    return subprocess.run([KHA, "vip", *args], capture_output=True, text=True, timeout=20, **kw)


class VipCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kha-vip-cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, text):
        path = os.path.join(self.dir, "kha.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_check_accepts_the_shared_config_file(self):
        r = kha("--config", self.write(CONFIG % VIP), "--check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("vip config ok: interface eth0, vrid 51, priority 150, 1 address(es), multicast", r.stdout)

    def test_config_errors_name_file_line_column_and_key(self):
        path = self.write(CONFIG.replace("vrid: 51", "vrid: 300").replace("priority: 150", "priorty: 150") % VIP)
        r = kha("--config", path, "--check")
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{path}:13:3: vip.priorty: unknown key", r.stderr)
        path = self.write(CONFIG.replace("vrid: 51", "vrid: 300") % VIP)
        r = kha("--config", path, "--check")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), f"{path}:12:9: vip.vrid: must be 1-255, got 300")
        path = self.write(CONFIG.replace("%s/24", "10.0.0.1/99"))
        r = kha("--config", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), f'{path}:14:14: vip.addresses: prefix length must be 1-32, got "99"')

    def test_flag_errors_name_the_flag(self):
        r = kha("--interface", "eth0", "--vrid", "51", "--address", "10.0.0.1/24", "--track-weight", "10")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--track-url: required with the other --track-* flags", r.stderr)
        r = kha("--interface", "eth0", "--vrid", "51", "--address", "10.0.0.1/24", "--advert-interval", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn('--advert-interval: expected a duration with a unit (ms, s, m, h), got "1"', r.stderr)
        r = kha("--vrid", "51")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--interface: required", r.stderr)
        self.assertIn("--address: required", r.stderr)

    def test_missing_capabilities_are_named(self):
        args = ["--interface", "lo", "--vrid", "51", "--address", "10.0.0.1/24"]
        if os.geteuid() != 0:
            r = kha(*args)
            self.assertEqual(r.returncode, 1)
            self.assertIn("CAP_NET_ADMIN", r.stderr)
            self.assertIn("CAP_NET_RAW", r.stderr)
            return
        # As root: drop capabilities, in a private network namespace so nothing can leak out.
        if not shutil.which("unshare") or not shutil.which("setpriv"):
            self.skipTest("unshare/setpriv (util-linux) not installed")
        r = subprocess.run(["unshare", "--net", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            KHA, "vip", *args], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("missing: CAP_NET_ADMIN and CAP_NET_RAW", r.stderr)
        r = subprocess.run(["unshare", "--net", "setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw",
                            KHA, "vip", *args], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("missing: CAP_NET_RAW.", r.stderr)
        self.assertNotIn("missing: CAP_NET_ADMIN", r.stderr)

    @unittest.skipIf(LAB_REASON, LAB_REASON or "")
    def test_runs_from_the_vip_section(self):
        lab = Lab().up()
        self.addCleanup(lab.down)
        path = self.write(CONFIG % VIP)
        p = lab.spawn("lb1", [KHA, "vip", "--config", path], "lb1.kha.log")
        lab.start_kha("lb2", 100)
        wait_until(lambda: lab.holders() == ["lb1"], 8, what="the config-file instance elected")
        self.assertEqual(lab.admin_get("lb1", 9099)["base_priority"], 150)
        self.assertIsNone(p.poll())
        # kha status shows the VRRP state (only that: no --admin for a proxy).
        r = lab.run("lb1", [KHA, "status", "--vip-admin", "127.0.0.1:9099"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("VIP vrid 51 on eth0 (ipv4): master, priority 150 (base 150)", r.stdout)
        self.assertIn(f"addresses: {VIP}/24", r.stdout)
        r = lab.run("lb1", [KHA, "status", "--vip-admin", "127.0.0.1:9098"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach kha vip's admin endpoint http://127.0.0.1:9098/status", r.stderr)
        # Missing interface: a runtime error (exit 1) that names it.
        r = lab.run("lb1", [KHA, "vip", "--interface", "eth9", "--vrid", "9", "--address", "10.99.0.200/24"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("interface eth9 not found", r.stderr)


if __name__ == "__main__":
    unittest.main()
