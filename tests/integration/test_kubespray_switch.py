"""A live switch from Kubespray's nginx-proxy to kha on loopback, as the kha_proxy role does
it: stand-in apiservers, nginx running the nginx.conf Kubespray renders for this inventory,
a small "kubelet" that runs one process per manifest in the manifest directory, and a client
requesting every 50 ms through 127.0.0.1. The role writes kha's manifest, waits for kha
(started with --bind-retry beside nginx), removes nginx-proxy.yml; the time without a
listener on 127.0.0.1:port is measured (polled every 2 ms) and must stay <= 0.2 s."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import yaml

from support import harness

SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
PLAY = SOURCE / "deploy/ansible/kha.yml"


def nginx_conf(upstreams, port, health_port):
    """roles/kubernetes/node/templates/loadbalancer/nginx.conf.j2 rendered (ipv6_stack false,
    loadbalancer_apiserver_keepalive_timeout 5m, loadbalancer_apiserver_healthcheck_port set)."""
    servers = "".join(f"    server {u};\n" for u in upstreams)
    return ("error_log stderr notice;\n\nworker_processes 2;\nworker_rlimit_nofile 65535;\n"
            "worker_shutdown_timeout 10s;\n\nevents {\n  multi_accept on;\n  use epoll;\n"
            "  worker_connections 16384;\n}\n\nstream {\n  upstream kube_apiserver {\n    least_conn;\n"
            f"{servers}  }}\n\n  server {{\n    listen        127.0.0.1:{port};\n    proxy_pass    kube_apiserver;\n"
            "    proxy_timeout 10m;\n    proxy_connect_timeout 1s;\n  }\n}\n\nhttp {\n  aio threads;\n  aio_write on;\n"
            "  tcp_nopush on;\n  tcp_nodelay on;\n\n  keepalive_timeout 5m;\n  keepalive_requests 100;\n"
            "  reset_timedout_connection on;\n  server_tokens off;\n  autoindex off;\n\n"
            f"  server {{\n    listen {health_port};\n    location /healthz {{\n      access_log off;\n"
            "      return 200;\n    }\n    location /stub_status {\n      stub_status on;\n      access_log off;\n"
            "    }\n  }\n}\n")


def listening(port):
    """Whether something accepts connections on 127.0.0.1:port now."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Kubelet(threading.Thread):
    """Starts one process per manifest in `manifests` and stops it (its image's stop signal)
    when the file goes, polling every 10 ms as the kubelet's file source does (slower)."""

    def __init__(self, root, manifests, commands):
        super().__init__(daemon=True)
        self.root, self.manifests, self.commands = root, manifests, commands
        self.running = {}
        self.stopping = threading.Event()
        self.events = []

    def command(self, name):
        if name in self.commands:
            return self.commands[name]
        pod = yaml.safe_load((self.manifests / name).read_text())
        args = pod["spec"]["containers"][0]["command"]
        return [harness.kha_bin() if a == "/usr/bin/kha" else
                str(self.root) + a if a.startswith("/etc/kha/") else a for a in args], signal.SIGTERM

    def run(self):
        while not self.stopping.is_set():
            present = {p.name for p in self.manifests.glob("*.yml")}
            for name in present - set(self.running):
                args, stop = self.command(name)
                self.running[name] = (harness.start_process(args, name=name.replace(".yml", "")), stop)
                self.events.append((time.monotonic(), "start", name))
            for name in set(self.running) - present:
                proc, stop = self.running.pop(name)
                proc.signal(stop)
                self.events.append((time.monotonic(), "stop", name))
                threading.Thread(target=proc.wait, args=(30,), daemon=True).start()
            time.sleep(0.01)

    def stop_all(self):
        self.stopping.set()
        self.join(5)
        for proc, _ in self.running.values():
            proc.stop()


class Switch(unittest.TestCase):
    def test_nginx_to_kha_without_a_gap(self):
        if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
            self.fail("nginx is not installed (scripts/deps.sh installs it)")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        tmp = Path(tempfile.mkdtemp(prefix="kha-switch-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        root = tmp / "node"
        manifests = root / "etc/kubernetes/manifests"
        manifests.mkdir(parents=True)
        (root / "etc/nginx").mkdir(parents=True)
        sp = harness.free_port()
        old_health, admin = harness.free_port(), harness.free_port()
        cps = [("cp1", "127.0.0.2"), ("cp2", "127.0.0.3")]
        standins = [harness.start_standin(n, host=ip, port=sp, owner=self) for n, ip in cps]
        self.assertEqual(len(standins), 2)
        (root / "etc/nginx/nginx.conf").write_text(nginx_conf([f"{ip}:{sp}" for _, ip in cps], sp, old_health))
        (manifests / "nginx-proxy.yml").write_text("# Kubespray's nginx-proxy static pod (the stand-in kubelet runs nginx)\n")
        nginx_cmd = [nginx, "-c", str(root / "etc/nginx/nginx.conf"), "-p", str(tmp) + "/", "-e", "stderr",
                     "-g", f"daemon off; pid {tmp}/nginx.pid;"]
        stream = Path("/usr/lib/nginx/modules/ngx_stream_module.so")  # Debian builds stream as a module
        if stream.exists():
            nginx_cmd[-1] += f" load_module {stream};"
        # The nginx image's STOPSIGNAL is SIGQUIT: graceful, listeners closed at once.
        kubelet = Kubelet(root, manifests, {"nginx-proxy.yml": (nginx_cmd, signal.SIGQUIT)})
        kubelet.start()
        self.addCleanup(kubelet.stop_all)
        harness.wait_until(lambda: harness.https_get(f"https://127.0.0.1:{sp}/version", insecure=True,
                                                     timeout=2).status == 200, timeout=20, what="nginx serving")

        # The client: a request every 50 ms; the prober: a connect every 2 ms.
        done = threading.Event()
        results, refused, probes, other = [], [], [], []

        def client():
            while not done.is_set():
                t = time.monotonic()
                try:
                    ok = harness.https_get(f"https://127.0.0.1:{sp}/version", insecure=True, timeout=3).status == 200
                except Exception:  # noqa: BLE001 - a failed request is what we count
                    ok = False
                results.append((t, ok))
                time.sleep(max(0.0, 0.05 - (time.monotonic() - t)))

        def prober():
            while not done.is_set():
                t = time.monotonic()
                probes.append(t)
                try:
                    with socket.create_connection(("127.0.0.1", sp), timeout=0.5):
                        pass
                except ConnectionRefusedError:
                    refused.append(t)
                except OSError:
                    other.append(t)
                time.sleep(0.002)

        threads = [threading.Thread(target=f, daemon=True) for f in (client, prober)]
        for t in threads:
            t.start()

        # The role refuses a node where kha's admin port is held (the old proxy's health
        # check). free_port() chose it a while ago: once another test running beside this
        # one listened on it by then. Choose again until nobody listens there.
        while listening(admin):
            admin = harness.free_port()
        inv = tmp / "inventory"
        (inv / "group_vars" / "all").mkdir(parents=True)
        (inv / "inventory.ini").write_text(
            "[kube_control_plane]\ncp1 ip=127.0.0.2\ncp2 ip=127.0.0.3\n[etcd:children]\nkube_control_plane\n"
            "[kube_node]\nw1 ip=127.0.0.5\n[k8s_cluster:children]\nkube_control_plane\nkube_node\n")
        (inv / "group_vars" / "all" / "all.yml").write_text(
            "ansible_connection: local\nansible_python_interpreter: /usr/bin/python3\n"
            f"loadbalancer_apiserver_type: kha\nkube_apiserver_port: {sp}\n"
            f"loadbalancer_apiserver_healthcheck_port: {admin}\n")
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"), ANSIBLE_HOME=str(tmp / "ansible-home"))
        play = subprocess.run(["ansible-playbook", "-i", str(inv / "inventory.ini"), str(PLAY), "-e", f"kha_root={root}",
                               "-e", "kha_lb_wait_timeout=60"], capture_output=True, text=True, timeout=600, env=env)
        after = len(results)
        harness.wait_until(lambda: len(results) >= after + 5, timeout=10, what="requests after the switch")
        done.set()
        for t in threads:
            t.join(5)
        self.assertEqual(play.returncode, 0, play.stdout[-4000:] + play.stderr)
        self.assertFalse((manifests / "nginx-proxy.yml").exists())
        self.assertTrue((manifests / "kha-proxy.yml").exists())
        self.assertEqual(harness.https_get(f"https://127.0.0.1:{sp}/version", insecure=True, timeout=3).status, 200)

        # The gap: from the first refused connect to the last one (all refusals form one window).
        gap = (refused[-1] - refused[0] + 0.002) if refused else 0.0
        failed = [t for t, ok in results if not ok]
        print(f"switch: {len(results)} requests, {len(failed)} failed; {len(probes)} connects, {len(refused)} refused, "
              f"{len(other)} other errors; "
              f"gap without a listener {gap * 1000:.1f} ms; kubelet: {kubelet.events}")
        self.assertGreater(len(results), 10)
        self.assertGreater(len(probes), 500)
        # The prober covered the switch: nginx stopped while it ran.
        stopped = [t for t, what, name in kubelet.events if what == "stop" and name == "nginx-proxy.yml"]
        self.assertTrue(stopped and probes[0] < stopped[0] < probes[-1])
        self.assertLessEqual(gap, 0.2)


if __name__ == "__main__":
    unittest.main()
