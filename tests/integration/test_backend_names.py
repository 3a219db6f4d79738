"""A backend given by name (issue #15): its checker and its sessions share one resolved
view; the name is resolved again on a schedule and at once after a failed check; a
change is logged; a failed lookup keeps the last good addresses.

kha runs in a private mount namespace where /etc/hosts (and nsswitch.conf, "hosts:
files", so that no lookup leaves the machine) are files this test rewrites in place:
the name moves without touching the machine's own. kube-apiserver is not packaged: the
two apiservers are `kha standin`s on 127.0.0.2 and 127.0.0.3, at the same port.
"""
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from support import harness

NAME = "apiserver.kha.test"
WRAP = 'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"'


def can_unshare():
    return os.geteuid() == 0 and shutil.which("unshare") is not None


@unittest.skipUnless(can_unshare(), "needs root and unshare (util-linux) for a private /etc/hosts")
class BackendNames(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-names-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pki = harness.make_ca(tmp)
        port = harness.free_port("127.0.0.2")
        self.a = harness.start_standin("apiserver-a", pki=pki, host="127.0.0.2", port=port, owner=self)
        self.b = harness.start_standin("apiserver-b", pki=pki, host="127.0.0.3", port=port, owner=self)
        self.port = port
        self.hosts = Path(tmp) / "hosts"
        self.nsswitch = Path(tmp) / "nsswitch.conf"
        self.nsswitch.write_text("hosts: files\n")
        self.point_to("127.0.0.2")

    def point_to(self, ip):
        """Rewrites the private /etc/hosts in place (the bind mount holds its inode)."""
        line = f"{ip} {NAME}\n" if ip else ""
        with open(self.hosts, "r+" if self.hosts.exists() else "w") as f:
            f.seek(0)
            f.write("127.0.0.1 localhost\n" + line)
            f.truncate()

    def start(self, resolve_interval):
        config = ("admin:\n  listen: 127.0.0.1:@ADMIN_PORT@\nfrontends:\n"
                  "  - name: api\n    listen: [\"127.0.0.1:@LISTEN_PORT@\"]\n"
                  f"    resolve_interval: {resolve_interval}\n"
                  "    health:\n      kind: tls\n      interval: 200ms\n      rise: 1\n      fall: 2\n"
                  f"    backends:\n      - name: api\n        address: {NAME}:{self.port}\n")
        wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", WRAP, str(self.hosts),
                   str(self.nsswitch)]
        proxy = harness.start_kha_proxy(config_text=config, wrapper=wrapper, owner=self)
        harness.wait_until(lambda: self.backend(proxy)["state"] == "up", 15, "the named backend up")
        return proxy

    @staticmethod
    def backend(proxy):
        return proxy.backends()["frontends"][0]["backends"][0]

    def served_by(self, proxy):
        """The stand-in that answers a new request through kha."""
        r = harness.https_get(f"https://127.0.0.1:{proxy.listen_port}/version", insecure=True)
        self.assertEqual(r.status, 200, r.body)
        return r.headers.get("x-standin-identity")

    def log(self, proxy):
        return proxy.process.stderr()

    def test_checker_and_sessions_follow_the_name(self):
        proxy = self.start("1s")
        self.assertEqual(self.backend(proxy)["resolved"], ["127.0.0.2"])
        self.assertIn(f"backend_resolved frontend=api backend=api host={NAME} addresses=127.0.0.2", self.log(proxy))
        self.assertEqual(self.served_by(proxy), "apiserver-a")
        self.point_to("127.0.0.3")
        harness.wait_until(lambda: "backend_address_changed" in self.log(proxy), 10, "the change noticed within 1s")
        self.assertIn('from=127.0.0.2 to=127.0.0.3', self.log(proxy))
        self.assertEqual(self.backend(proxy)["resolved"], ["127.0.0.3"])
        self.assertEqual(self.served_by(proxy), "apiserver-b")
        # The checker moved too: the old address dying does not take the backend down
        # (a checker that kept the first answer would fail now, while sessions worked).
        self.a.kill()
        checks = proxy.metrics_sum("kha_health_checks_total")
        harness.wait_until(lambda: proxy.metrics_sum("kha_health_checks_total") >= checks + 5, 10, "five more checks")
        self.assertEqual(self.backend(proxy)["state"], "up")
        self.assertEqual(self.served_by(proxy), "apiserver-b")

    def test_a_failed_check_resolves_the_name_again_at_once(self):
        # Re-resolving only once an hour, the name moves and its old apiserver dies: the
        # failed check resolves it again, and the backend comes back on the new address.
        proxy = self.start("1h")
        self.point_to("127.0.0.3")
        self.a.kill()
        harness.wait_until(lambda: "backend_address_changed" in self.log(proxy), 15, "the failed check to re-resolve")
        harness.wait_until(lambda: self.backend(proxy)["state"] == "up", 15, "the backend up on the new address")
        self.assertEqual(self.served_by(proxy), "apiserver-b")

    def test_a_failed_lookup_keeps_the_last_good_addresses(self):
        proxy = self.start("1s")
        self.point_to(None)  # the name is gone: the lookup fails
        harness.wait_until(lambda: "backend_resolve_failed" in self.log(proxy), 10, "the failed lookup logged")
        self.assertIn("action=\"keeping 127.0.0.2\"", self.log(proxy))
        self.assertEqual(self.backend(proxy)["state"], "up")
        self.assertEqual(self.served_by(proxy), "apiserver-a")
        self.point_to("127.0.0.2")
        harness.wait_until(lambda: "backend_resolve_recovered" in self.log(proxy), 15, "the name back")
        self.assertEqual(self.log(proxy).count("backend_resolve_failed"), 1, "one line per failing streak")


if __name__ == "__main__":
    unittest.main()
