"""Issue #14, item 1: garbage first bytes take no backend down.

A client that opens connections and sends bytes that are not a TLS ClientHello (8 NUL
bytes, a plain HTTP request, random bytes) makes each TLS backend close without a word.
That is the client's doing: kha must not count it against the backends (before the fix,
two such connections marked all three down and closed every watch). Real kha, three
real `kha standin` TLS apiservers (kube-apiserver is not packaged), https checks,
30 watches open through kha, hostile clients on loopback.
"""
import os
import shutil
import socket
import tempfile
import time
import unittest

from support import faults
from support import harness

FE = "apiserver"
GARBAGE = [b"\0" * 8, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(64), b"\x16\x03\x01\x00\x05\x02\0\0\0\0"]


class GarbageFirstBytes(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-abuse-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.standins = harness.start_standins(3, pki=self.pki, watch_interval="200ms", owner=self)
        self.proxy = harness.start_kha_proxy(config_text=faults.apiserver_config(self.standins, self.pki.ca),
                                             owner=self)
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 3, 15,
                           "every backend to be up")

    def send_garbage(self, payload):
        """One hostile client: connect, send payload, wait until kha closes (bounded)."""
        with socket.create_connection(("127.0.0.1", self.proxy.listen_port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR) if payload.startswith(b"GET") else None
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass  # a reset is one way to be told no

    def downs(self):
        return self.proxy.metrics_sum("kha_health_transitions_total", {"frontend": FE, "to": "down"}) or 0

    def test_garbage_connections_take_no_backend_down_and_close_no_watch(self):
        watches = faults.Watches(self.proxy.url(), self.pki.ca, count=30)
        self.addCleanup(watches.close)
        harness.wait_until(lambda: all(w.count() >= 1 for w in watches.items), 10, "an event on every watch")
        for round_ in range(10):  # 40 hostile connections, each payload ten times
            for payload in GARBAGE:
                self.send_garbage(payload)
        # Several probe intervals (1 s) and passive verdicts (connect timeout 1 s) later:
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            self.assertEqual(self.downs(), 0, f"a backend went down on garbage:\n{self.proxy.backends()}")
            self.assertEqual(self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}), 3)
            time.sleep(0.1)
        self.assertEqual([w.end_reason for w in watches.items if w.ended()], [], "watches were closed")
        self.assertEqual(self.proxy.metrics_sum("kha_health_checks_total", {"frontend": FE, "outcome": "passive"}) or 0,
                         0, "the garbage was counted as backend evidence")
        # The proxy still serves real clients on every backend.
        for _ in range(6):
            self.assertEqual(harness.https_get(self.proxy.url("/version"), ca=self.pki.ca).status, 200)

    def test_a_dead_backend_is_still_found(self):
        # The other side of the rule: a backend that really dies still goes down.
        victim = self.standins[0]
        victim.kill()
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == 2, 5,
                           "the killed backend to go down")
        for _ in range(6):
            self.assertEqual(harness.https_get(self.proxy.url("/version"), ca=self.pki.ca).status, 200)


if __name__ == "__main__":
    unittest.main()
