"""kha plan render: from a Kubespray inventory to files on disk. Every rendered kha config
passes `kha check-config`; the node-local one starts `kha proxy`, which then forwards to
stand-in apiservers (kube-apiserver is not packaged: `kha standin` plays it) at the control
planes' addresses. Writes are atomic and an existing different file needs --force."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import harness

SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def kha(*args, timeout=30):
    return subprocess.run([harness.kha_bin(), *map(str, args)], capture_output=True, text=True, timeout=timeout)


class Render(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kha-plan-render-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.sp = harness.free_port()
        self.nsp = harness.free_port()
        self.health = harness.free_port()
        (self.dir / "group_vars" / "k8s_cluster").mkdir(parents=True)
        (self.dir / "inventory.ini").write_text(
            "[kube_control_plane]\ncp1 ip=127.0.0.2\ncp2 ip=127.0.0.3\ncp3 ip=127.0.0.4\n"
            "[etcd:children]\nkube_control_plane\n[kube_node]\nw1 ip=127.0.0.5\nw2 ip=127.0.0.6\n"
            "[k8s_cluster:children]\nkube_control_plane\nkube_node\n")
        (self.dir / "group_vars" / "k8s_cluster" / "k8s-cluster.yml").write_text(
            f"kube_apiserver_port: {self.sp}\nloadbalancer_apiserver_port: {self.nsp}\n"
            f"loadbalancer_apiserver_healthcheck_port: {self.health}\nenable_dual_stack_networks: true\n"
            "ansible_default_ipv6: {address: 'fd00::9'}\n")
        self.out = self.dir / "out"

    def render(self, *extra):
        return kha("plan", "render", "-i", self.dir, "--out", self.out, *extra)

    def kha_configs(self):
        return sorted(self.out.glob("**/etc/kha/kha.yaml"))

    def test_render_check_config_and_start_proxy(self):
        r = self.render()
        self.assertEqual(r.returncode, 0, r.stderr)
        configs = self.kha_configs()
        self.assertEqual([c.relative_to(self.out).parts[:2] for c in configs], [("hosts", "w1"), ("hosts", "w2")])
        for c in configs:
            chk = kha("check-config", c)
            self.assertEqual(chk.returncode, 0, f"{c}:\n{chk.stderr}")
        self.assertTrue((self.out / "hosts/w1/etc/kubernetes/manifests/kha-proxy.yml").exists())
        text = configs[0].read_text()
        self.assertIn(f'listen: ["127.0.0.1:{self.nsp}", "[::1]:{self.nsp}"]', text)

        standins = [harness.start_standin(f"cp{i}", host=f"127.0.0.{i + 1}", port=self.sp, owner=self)
                    for i in (1, 2, 3)]
        proxy = harness.start_process([harness.kha_bin(), "proxy", "--config", str(configs[0])], name="kha-proxy",
                                      owner=self)
        harness.wait_until(lambda: harness.tcp_connects("127.0.0.1", self.nsp), timeout=10, what="proxy listener")
        ready = harness.wait_until(
            lambda: harness.request(f"http://127.0.0.1:{self.health}/readyz", timeout=2).status == 200,
            timeout=15, what="kha proxy /readyz (backends checked healthy)")
        self.assertTrue(ready)
        seen = set()
        for _ in range(12):
            resp = harness.https_get(f"https://127.0.0.1:{self.nsp}/version", insecure=True, timeout=5)
            self.assertEqual(resp.status, 200)
            seen.add(resp.identity)
        self.assertEqual(seen, {s.name for s in standins} & seen)
        self.assertGreaterEqual(len(seen), 2, "leastconn over three healthy apiservers used only one")
        self.assertTrue(proxy.alive())

    def test_manifest_is_deploys_static_pod(self):
        # One shape everywhere: with the default admin port the rendered static pod is
        # deploy/kha-proxy.static-pod.yaml byte for byte, for type nginx (the "replace it" advice) and kha.
        (self.dir / "group_vars" / "k8s_cluster" / "k8s-cluster.yml").write_text("loadbalancer_apiserver_type: kha\n")
        r = self.render()
        self.assertEqual(r.returncode, 0, r.stderr)
        for host in ("w1", "w2"):
            pod = self.out / f"hosts/{host}/etc/kubernetes/manifests/kha-proxy.yml"
            self.assertEqual(pod.read_bytes(), (SOURCE / "deploy/kha-proxy.static-pod.yaml").read_bytes(), host)
        self.assertIn("/etc/kha/kha.yaml", r.stdout)

    def test_external_lb_haproxy_and_legacy_hosts(self):
        (self.dir / "group_vars" / "all").mkdir()
        lp = harness.free_port()
        (self.dir / "group_vars" / "all" / "lb.yml").write_text(
            f"loadbalancer_apiserver:\n  address: 10.0.0.100\n  port: {lp}\n")
        r = self.render("--kubespray", "2.28")
        self.assertEqual(r.returncode, 0, r.stderr)
        ext = self.out / "external-lb/etc/kha/kha.yaml"
        self.assertEqual(kha("check-config", ext).returncode, 0, kha("check-config", ext).stderr)
        hap = (self.out / "external-lb/haproxy.cfg").read_text()
        self.assertIn(f"  bind :{lp}\n", hap)
        self.assertIn(f"  server cp1 127.0.0.2:{self.sp} check check-ssl verify none inter 10000\n", hap)
        hosts = (self.out / "hosts/w1/etc/hosts.kha").read_text()
        self.assertIn("10.0.0.100 lb-apiserver.kubernetes.local\n", hosts)
        self.assertIn("127.0.0.5 w1.cluster.local w1\n", hosts)
        self.assertFalse((self.out / "hosts/w1/etc/kha").exists())  # no local LB with an external one

    def test_etcd_frontend_passes_check_config(self):
        (self.dir / "group_vars" / "all").mkdir()
        (self.dir / "group_vars" / "all" / "etcd.yml").write_text(
            "etcd_access_addresses: https://2.3.7.9:2379\netcd_client_url: https://2.3.7.9:2379\n"
            "etcd_cert_alt_ips: ['2.3.7.9']\n")
        r = self.render()
        self.assertEqual(r.returncode, 0, r.stderr)
        etcd = self.out / "etcd-lb/etc/kha/kha.yaml"
        chk = kha("check-config", etcd)
        self.assertEqual(chk.returncode, 0, chk.stderr)
        self.assertIn('address: "127.0.0.3:2379"', etcd.read_text())

    def test_existing_files_need_force(self):
        self.assertEqual(self.render().returncode, 0)
        again = self.render()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("unchanged", again.stdout)
        target = self.out / "hosts/w1/etc/kha/kha.yaml"
        target.write_text("# edited by hand\n")
        other = self.out / "hosts/w2/etc/kha/kha.yaml"
        before = other.stat().st_mtime_ns
        other.unlink()
        refused = self.render()
        self.assertEqual(refused.returncode, 2)
        self.assertIn(f"{target}: exists with other content; pass --force", refused.stderr)
        self.assertEqual(target.read_text(), "# edited by hand\n")
        self.assertFalse(other.exists(), "nothing is written when a file conflicts")
        forced = self.render("--force")
        self.assertEqual(forced.returncode, 0, forced.stderr)
        self.assertIn(f"replaced {target}", forced.stdout)
        self.assertNotEqual(target.read_text(), "# edited by hand\n")
        self.assertTrue(other.exists() and other.stat().st_mtime_ns >= before)
        self.assertEqual([p for p in self.out.rglob("*.tmp.*")], [])


if __name__ == "__main__":
    unittest.main()
