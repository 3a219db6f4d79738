"""Issue #14, item 2: kha's own descriptor limit is never blamed on the backends.

kha under a hard open-files limit of 1024 (as a container or a unit without
LimitNOFILE would give it), three real `kha standin` TLS apiservers with https checks,
and 1,100 clients that connect and stay. Before the fix the probes failed with "Too many
open files", every backend was marked down and ~600 sessions were closed. Now kha
caps its sessions below the limit (the rest wait in the listen backlog), the probes
keep their descriptors, no backend goes down, and the admin endpoint answers.
"""
import time
import unittest

from support import faults
from support import harness

FE = "apiserver"
CLIENTS = 1100
LIMIT = 1024
CAP = (LIMIT - 256) // 3  # proxy/session_cap.h


class DescriptorLimit(unittest.TestCase):
    def setUp(self):
        faults.hostile_clients_setup(self, CLIENTS)
        self.proxy = harness.start_kha_proxy(config_text=faults.apiserver_config(self.standins, self.pki.ca),
                                             wrapper=["prlimit", f"--nofile={LIMIT}:{LIMIT}"], owner=self)
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 3, 15,
                           "every backend to be up")

    def test_clients_past_the_limit_wait_and_no_backend_is_blamed(self):
        self.assertEqual(self.proxy.metrics("kha_proxy_session_cap"), CAP)
        clients = faults.open_stalled_clients(self, self.proxy.listen_port, CLIENTS)
        harness.wait_until(lambda: (self.proxy.metrics("kha_proxy_session_cap_pauses_total") or 0) > 0, 10,
                           "kha to stop accepting at the cap")
        harness.wait_until(lambda: faults.accept_queue(self.proxy.listen_port) > 0, 10,
                           "clients past the cap to wait in the backlog")
        # Probes run every second; give them three rounds with every descriptor kha may use taken.
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            self.assertEqual(self.proxy.admin("/healthz", timeout=2).status, 200)
            self.assertEqual(self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}), 3,
                             f"a backend was marked down for kha's own limit:\n{self.proxy.backends()}")
            time.sleep(0.2)
        downs = self.proxy.metrics_sum("kha_health_transitions_total", {"frontend": FE, "to": "down"}) or 0
        self.assertEqual(downs, 0)
        self.assertIn("open_files_limit", self.proxy.process.stderr())
        # The clients leave; kha serves a real request again.
        for c in clients:
            c.close()
        clients.clear()
        harness.wait_until(lambda: harness.https_get(self.proxy.url("/version"), ca=self.pki.ca, timeout=3).status
                           == 200, 20, "kha to serve again")


if __name__ == "__main__":
    unittest.main()
