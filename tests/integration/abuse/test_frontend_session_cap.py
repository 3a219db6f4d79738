"""Issue #14, limits: one frontend's clients cannot take every session from the others.

An external LB serves a port anyone on the network can reach next to the node-local
apiserver port. kha with two frontends in front of three real `kha standin` TLS
apiservers: `public` with `max_sessions: 40`, `local` without a cap of its own. 120
hostile clients open connections to `public` and stay (the start of a ClientHello,
then silence). kha holds at most 40 of them (the rest wait in the listen backlog),
counts the pauses, and `local` keeps serving real requests meanwhile. A reload raises
the cap and kha takes more of the waiting clients at once; when they leave, `public`
serves again.
"""
import unittest

from support import faults
from support import harness

CAP = 40
RAISED = 70
CLIENTS = 120


def config(standins, ca, local_port, cap):
    backends = "".join(f"      - name: {s.name}\n        address: {s.address}\n" for s in standins)
    health = ("    health:\n      kind: https\n      path: /readyz\n      tls:\n        verify: true\n"
              f"        ca_file: {ca}\n        server_name: localhost\n")
    return ("admin:\n  listen: 127.0.0.1:@ADMIN_PORT@\nfrontends:\n"
            f"  - name: public\n    listen: [\"127.0.0.1:@LISTEN_PORT@\"]\n    max_sessions: {cap}\n"
            f"{health}    backends:\n{backends}"
            f"  - name: local\n    listen: [\"127.0.0.1:{local_port}\"]\n"
            f"{health}    backends:\n{backends}")


class FrontendSessionCap(unittest.TestCase):
    def setUp(self):
        faults.hostile_clients_setup(self, CLIENTS)
        self.local_port = harness.free_port()
        self.proxy = harness.start_kha_proxy(config_text=config(self.standins, self.pki.ca, self.local_port, CAP),
                                             owner=self)
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up") == 6, 15, "every backend to be up")

    def open_sessions(self, frontend):
        return self.proxy.metrics("kha_proxy_frontend_sessions", {"frontend": frontend})

    def wait_to_hold(self, count):
        """Waits until kha holds exactly `count` public sessions: at the cap, never past it."""
        seen = []
        def holds():
            seen.append(self.open_sessions("public"))
            return seen[-1] == count
        try:
            harness.wait_until(holds, 10, f"kha to hold {count} public sessions")
        except AssertionError as e:
            raise AssertionError(f"{e}; public sessions seen: {sorted(set(seen))}") from None

    def local_get(self):
        return harness.https_get(f"https://127.0.0.1:{self.local_port}/version", ca=self.pki.ca, timeout=5)

    def test_a_capped_frontend_leaves_sessions_to_the_others(self):
        self.assertEqual(self.proxy.metrics("kha_proxy_frontend_session_cap", {"frontend": "public"}), CAP)
        self.assertEqual(self.proxy.metrics("kha_proxy_frontend_session_cap", {"frontend": "local"}), 0)
        clients = faults.open_stalled_clients(self, self.proxy.listen_port, CLIENTS)
        self.wait_to_hold(CAP)
        harness.wait_until(lambda: (self.proxy.metrics("kha_proxy_frontend_session_cap_pauses_total",
                                                       {"frontend": "public"}) or 0) > 0, 10,
                           "kha to stop accepting for public at its cap")
        self.assertGreater(faults.accept_queue(self.proxy.listen_port), 0, "clients past the cap wait in the backlog")
        # The other frontend is not held by the first one's cap, and no backend is blamed.
        for _ in range(5):
            self.assertEqual(self.local_get().status, 200)
        self.assertLessEqual(self.open_sessions("public"), CAP)
        self.assertEqual(self.proxy.metrics_sum("kha_health_transitions_total", {"to": "down"}) or 0, 0)
        self.assertIn("frontend_session_cap_reached", self.proxy.process.stderr())
        # A reload raises the cap: kha takes more of the waiting clients, no more than the cap.
        self.proxy.reload(config(self.standins, self.pki.ca, self.local_port, RAISED))
        self.wait_to_hold(RAISED)
        self.assertEqual(self.proxy.metrics("kha_proxy_frontend_session_cap", {"frontend": "public"}), RAISED)
        # The clients leave; the slots come back and public serves a real request again.
        for c in clients:
            c.close()
        clients.clear()
        harness.wait_until(lambda: harness.https_get(self.proxy.url("/version"), ca=self.pki.ca, timeout=3).status
                           == 200, 20, "public to serve again")
        harness.wait_until(lambda: self.open_sessions("public") == 0, 10, "every public slot to be given back")


if __name__ == "__main__":
    unittest.main()
