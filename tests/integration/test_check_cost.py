"""Health checks that cost the apiservers almost nothing (issue 16), end to end: real
`kha proxy` with https checks against TLS stand-ins that count what they pay (full and
resumed handshakes, requests). Each evidence path of the kept-alive check connection:
it is reused and a reopened one resumes its TLS session; a hung backend on it goes
down within the window; a killed backend is seen at once through its idle connection;
an accept-path failure (listener gone, old connections alive) is caught by the
periodic fresh connect (haproxy#1613)."""

import shutil
import sys
import tempfile
import time
import unittest

from support import faults, harness

FE = "apiserver"


class CheckCost(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-check-cost-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.s = harness.start_standin("cp1", pki=self.pki, owner=self)

    def start_proxy(self, health_extra):
        p = harness.start_kha_proxy(
            config_text=faults.apiserver_config([self.s], self.pki.ca, health_extra=health_extra), owner=self)
        harness.wait_until(lambda: p.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 1, 15,
                           "the backend to be up")
        return p

    def time_to_down(self, p, t0, limit):
        harness.wait_until(lambda: p.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 0, limit + 2,
                           "the backend to go down", interval=0.02)
        return time.monotonic() - t0

    def test_kept_alive_connection_and_resumed_reconnects(self):
        p = self.start_proxy("      interval: 200ms\n      fresh_connect_interval: 1s\n")
        harness.wait_until(lambda: self.s.state()["handshakes_resumed"] >= 3, 15, "three resumed reconnects")
        st = self.s.state()
        print(f"MEASURED standin: {st}", file=sys.stderr)
        self.assertEqual(st["handshakes_full"], 1, "one full handshake; every reconnect resumed")
        self.assertEqual(st["connections"], st["handshakes_full"] + st["handshakes_resumed"])
        self.assertGreaterEqual(st["data_requests"], 2 * st["connections"], "several GETs per connection")
        labels = {"frontend": FE, "backend": "cp1"}
        self.assertGreaterEqual(p.metrics_sum("kha_health_connections_total", {**labels, "kind": "resumed"}), 3)
        self.assertEqual(p.metrics_sum("kha_health_connections_total", {**labels, "kind": "new"}), 1)
        self.assertGreaterEqual(p.metrics_sum("kha_health_requests_total", labels), st["connections"] * 2)

    def test_tls_kind_resumes_its_session(self):
        text = faults.apiserver_config([self.s], self.pki.ca, health_extra="      interval: 200ms\n")
        p = harness.start_kha_proxy(config_text=text.replace("kind: https", "kind: tls"), owner=self)
        harness.wait_until(lambda: p.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 1, 15, "up")
        harness.wait_until(lambda: self.s.state()["handshakes_resumed"] >= 5, 30, "five resumed handshakes")
        st = self.s.state()
        # One full handshake, then resumed ones (a second full one if the first ticket
        # came after the wait on a loaded machine).
        self.assertLessEqual(st["handshakes_full"], 2, f"full handshakes beside the resumed ones: {st}")
        self.assertEqual(st["data_requests"], 0, "a tls check sends no request")

    def test_hung_backend_on_the_kept_alive_connection_goes_down_in_the_window(self):
        p = self.start_proxy("")  # defaults: interval 1s, timeout 1s, fresh connect every ~2 min
        harness.wait_until(lambda: self.s.state()["data_requests"] >= 3, 10, "three checks")
        self.assertEqual(self.s.state()["connections"], 1, "the checks share one connection")
        t0 = time.monotonic()
        self.s.set_mode("hang")  # the open connection stops answering, new ones never finish TLS
        took = self.time_to_down(p, t0, 3.5)
        print(f"MEASURED hung on a kept-alive check connection: down after {took:.2f}s", file=sys.stderr)
        # interval (+10% jitter) + timeout + transition_interval + timeout = 3.35s at worst
        self.assertLess(took, 3.5 + 0.3)

    def test_killed_backend_is_seen_at_once_through_the_idle_connection(self):
        p = self.start_proxy("      interval: 10s\n      down_interval: 10s\n")
        # Up means a probe passed: its connection is now idle, the next probe ~10 s away.
        self.assertEqual(self.s.state()["connections"], 1)
        t0 = time.monotonic()
        self.s.kill()
        took = self.time_to_down(p, t0, 2.0)
        print(f"MEASURED killed, idle check connection: down after {took:.2f}s (interval 10s)", file=sys.stderr)
        self.assertLess(took, 2.0, "the ended idle connection pulled the probes forward")

    def test_accept_path_failure_is_caught_by_the_fresh_connect(self):
        p = self.start_proxy("      interval: 200ms\n      fresh_connect_interval: 2s\n")
        harness.wait_until(lambda: self.s.state()["data_requests"] >= 3, 10, "three checks")
        t0 = time.monotonic()
        self.s.set_mode("refuse")  # listener closed; the open check connection still answers
        before = self.s.state()["data_requests"]
        harness.wait_until(lambda: self.s.state()["data_requests"] >= before + 2, 5,
                           "checks still answered on the old connection")
        took = self.time_to_down(p, t0, 4.0)
        print(f"MEASURED accept path gone, old connection alive: down after {took:.2f}s "
              f"(fresh_connect_interval 2s)", file=sys.stderr)
        # fresh connect due within 2s * 1.25, then a refused connect and one more
        self.assertLess(took, 2.5 + 1.0)
        self.s.set_mode("normal")
        harness.wait_until(lambda: p.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 1, 10,
                           "the backend to come back")


if __name__ == "__main__":
    unittest.main()
