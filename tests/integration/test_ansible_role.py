"""The kha_proxy Ansible role (deploy/ansible/kha.yml) run with connection local into a
temporary root on Kubespray test inventories: it writes exactly the hosts, files and bytes
that `kha plan render` writes for the same inventory, every config passes `kha check-config`,
its asserts fire with messages naming the variable, a control plane whose apiserver binds
0.0.0.0 fails alone (even in serial batches of one), and ansible-lint finds nothing."""
import os
import shutil
import socket
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import harness

SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
PLAY = SOURCE / "deploy/ansible/kha.yml"

INI = ("[kube_control_plane]\ncp1 ip=10.0.0.1 access_ip=192.168.0.1\ncp2 ip=10.0.0.2\ncp3 ip=10.0.0.3\n"
       "[etcd:children]\nkube_control_plane\n[kube_node]\nw1 ip=10.0.0.11\nw2 ip=10.0.0.12\n"
       "[k8s_cluster:children]\nkube_control_plane\nkube_node\n")
LOCAL = "ansible_connection: local\nansible_python_interpreter: /usr/bin/python3\n"


def kha(*args):
    return subprocess.run([harness.kha_bin(), *map(str, args)], capture_output=True, text=True, timeout=60)


def tree(root):
    """{relative path: bytes} of every file below root."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class Role(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kha-ansible-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                        ANSIBLE_LOCAL_TEMP=str(self.dir / "ansible-tmp"), ANSIBLE_REMOTE_TEMP=str(self.dir / "ansible-tmp"),
                        ANSIBLE_HOME=str(self.dir / "ansible-home"), ANSIBLE_STDOUT_CALLBACK="default")

    def inventory(self, name, all_vars, ini=INI):
        inv = self.dir / name
        (inv / "group_vars" / "all").mkdir(parents=True)
        (inv / "inventory.ini").write_text(ini)
        (inv / "group_vars" / "all" / "all.yml").write_text(LOCAL + all_vars)
        return inv

    def play(self, inv, root, *extra):
        # kha_lb_wait false: render only; nothing runs in the temporary root to wait for.
        return subprocess.run(["ansible-playbook", "-i", str(inv / "inventory.ini"), str(PLAY),
                               "-e", f"kha_root={root}/hosts/{{{{ inventory_hostname }}}}", "-e", "kha_lb_wait=false",
                               *extra],
                              capture_output=True, text=True, timeout=300, env=self.env)

    def render(self, inv):
        out = self.dir / (inv.name + "-render")
        r = kha("plan", "render", "-i", inv, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def same_as_render(self, inv, expect_hosts, *extra, ok=True):
        rendered = self.render(inv)
        root = self.dir / (inv.name + "-role")
        r = self.play(inv, root, *extra)
        self.assertEqual(r.returncode == 0, ok, r.stdout[-4000:] + r.stderr)
        want = tree(rendered / "hosts") if (rendered / "hosts").exists() else {}
        got = tree(root / "hosts") if (root / "hosts").exists() else {}
        self.assertEqual(sorted(got), sorted(want), "the role wrote other files than kha plan render")
        for path, content in want.items():
            self.assertEqual(got[path].decode(), content.decode(), path)
        self.assertEqual(sorted({p.split("/")[0] for p in got}), expect_hosts)
        for path in got:
            if path.endswith("etc/kha/kha.yaml"):
                chk = kha("check-config", root / "hosts" / path)
                self.assertEqual(chk.returncode, 0, f"{path}: {chk.stderr}")
        # A second run changes nothing (the files are the same bytes).
        again = self.play(inv, root, *extra)
        self.assertIn("changed=0", again.stdout.split("PLAY RECAP")[-1].splitlines()[1])
        return r

    def test_default_inventory(self):
        inv = self.inventory("default", "loadbalancer_apiserver_type: kha\nloadbalancer_apiserver_healthcheck_port: 8081\n")
        self.same_as_render(inv, ["w1", "w2"])
        config = (self.dir / "default-role/hosts/w1/etc/kha/kha.yaml").read_text()
        self.assertIn('listen: ["127.0.0.1:6443"]', config)
        self.assertIn('address: "192.168.0.1:6443"', config)  # access_ip first, inventory order
        self.assertLess(config.index('"192.168.0.1:6443"'), config.index('"10.0.0.3:6443"'))
        manifest = self.dir / "default-role/hosts/w1/etc/kubernetes/manifests/kha-proxy.yml"
        self.assertEqual(manifest.read_bytes(), (SOURCE / "deploy/kha-proxy.static-pod.yaml").read_bytes())

    def test_dual_stack_custom_dirs_and_image(self):
        inv = self.inventory("dual", "loadbalancer_apiserver_type: kha\nenable_dual_stack_networks: true\n"
                                     "kube_apiserver_bind_address: 10.9.9.9\nkube_config_dir: /srv/k8s\n"
                                     "loadbalancer_apiserver_healthcheck_port: 8090\n")
        self.same_as_render(inv, ["cp1", "cp2", "cp3", "w1", "w2"])
        config = (self.dir / "dual-role/hosts/cp2/etc/kha/kha.yaml").read_text()
        self.assertIn('listen: ["127.0.0.1:6443", "[::1]:6443"]', config)
        self.assertIn('listen: "127.0.0.1:8090"', config)
        self.assertTrue((self.dir / "dual-role/hosts/cp2/srv/k8s/manifests/kha-proxy.yml").exists())
        # kha_image and kha_config_dir are the role's own knobs.
        root = self.dir / "image"
        r = self.play(inv, root, "-e", "kha_image=registry.example/kha:9", "-e", "kha_config_dir=/opt/kha")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        self.assertIn("image: registry.example/kha:9\n", (root / "hosts/w1/srv/k8s/manifests/kha-proxy.yml").read_text())
        self.assertTrue((root / "hosts/w1/opt/kha/kha.yaml").exists())

    def test_bind_all_interfaces_fails_only_those_control_planes(self):
        inv = self.inventory("bind", "loadbalancer_apiserver_type: kha\nkube_apiserver_bind_address: 0.0.0.0\n")
        # Serial batches of one, control planes first: a failed batch would end the play.
        r = self.same_as_render(inv, ["w1", "w2"], "-e", "kha_serial=1", ok=False)
        for cp in ("cp1", "cp2", "cp3"):
            self.assertIn(f"kube_apiserver_bind_address is '0.0.0.0' on {cp}", r.stdout)
        recap = r.stdout.split("PLAY RECAP")[-1]
        for line in recap.splitlines():
            if line.startswith(("w1 ", "w2 ")):
                self.assertIn("failed=0", line)
            if line.startswith("cp"):
                self.assertIn("failed=1", line)

    def test_external_lb_installs_nothing(self):
        inv = self.inventory("external", "loadbalancer_apiserver_type: kha\n"
                                         "loadbalancer_apiserver: {address: 10.0.0.100, port: 8383}\n")
        self.same_as_render(inv, [])

    def assert_refused(self, name, all_vars, message, ini=INI):
        inv = self.inventory(name, all_vars, ini)
        root = self.dir / (name + "-role")
        r = self.play(inv, root)
        self.assertNotEqual(r.returncode, 0, r.stdout[-3000:])
        self.assertIn(message, " ".join(r.stdout.split()))
        self.assertFalse(root.exists(), "a refused inventory must leave every node untouched")

    def test_asserts_name_the_variable(self):
        self.assert_refused("type", "loadbalancer_apiserver_type: nginx\n",
                            "loadbalancer_apiserver_type is 'nginx': set loadbalancer_apiserver_type: kha")
        self.assert_refused("typedefault", "", "loadbalancer_apiserver_type is 'nginx'")
        self.assert_refused("port", "loadbalancer_apiserver_type: kha\nloadbalancer_apiserver_port: 7443\n",
                            "loadbalancer_apiserver_port (7443) differs from kube_apiserver_port (6443)")
        self.assert_refused("facts", "loadbalancer_apiserver_type: kha\n", "main_access_ip is unknown for cp2:",
                            ini=INI.replace("cp2 ip=10.0.0.2", "cp2"))

    def test_switch_refused_while_nginx_holds_the_admin_port(self):
        # nginx-proxy serves /healthz on *:loadbalancer_apiserver_healthcheck_port, kha's admin port.
        port = harness.free_port()
        held = socket.socket()
        held.bind(("0.0.0.0", port))
        held.listen(4)
        self.addCleanup(held.close)
        inv = self.inventory("switch", f"loadbalancer_apiserver_type: kha\nloadbalancer_apiserver_healthcheck_port: {port}\n")
        root = self.dir / "switch-role"
        for host in ("w1", "w2"):
            manifests = root / "hosts" / host / "etc/kubernetes/manifests"
            manifests.mkdir(parents=True)
            (manifests / "nginx-proxy.yml").write_text("# Kubespray's\n")
        r = self.play(inv, root, "-e", "kha_lb_wait=true")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"nginx-proxy.yml still runs on w1 and something (its health check, on every interface) holds "
                      f"127.0.0.1:{port}, kha's admin port (loadbalancer_apiserver_healthcheck_port)",
                      " ".join(r.stdout.split()))
        self.assertEqual(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
                         [f"hosts/{h}/etc/kubernetes/manifests/nginx-proxy.yml" for h in ("w1", "w2")])

    def test_ansible_lint_clean(self):
        r = subprocess.run(["ansible-lint", "--offline", "-p", "kha.yml", "roles/kha_proxy"], cwd=PLAY.parent,
                           capture_output=True, text=True, timeout=300, env=self.env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
