"""How kha spreads long-lived sessions over healthy apiservers (issue #17).

kube-apiserver is not packaged: the apiservers are `kha standin`s. A client is one TLS
connection that stays (a watch, an HTTP/2 connection of client-go); the spread is read
from kha's /backends.
"""
import shutil
import socket
import ssl
import tempfile
import unittest
from collections import Counter

from support import harness

WATCHES = 150


def client_hello():
    """The bytes of one TLS ClientHello, as any client's first flight."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class BurstBalance(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-balance-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.standins = harness.start_standins(3, pki=self.pki, owner=self)

    def open_burst(self, proxy):
        """WATCHES clients whose ClientHellos reach kha within a few milliseconds (as
        every watch of a node reconnecting after a failover): connect all, then send
        all. Returns the sessions each backend holds once the race is over."""
        hello = client_hello()
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        for _ in range(WATCHES):
            c = socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5)
            clients.append(c)
        for c in clients:
            c.sendall(hello)
        for c in clients:  # every session has its backend once each client got a ServerHello
            self.assertTrue(c.recv(5), "kha closed a client instead of picking a backend")

        def spread():
            return {b["name"]: b["active_sessions"] for fe in proxy.backends()["frontends"] for b in fe["backends"]}
        harness.wait_until(lambda: sum(spread().values()) == WATCHES, 10, "every session to count for its backend")
        return Counter(spread())

    def test_leastconn_spreads_a_burst_of_watches_evenly(self):
        # Before connects in flight were counted, a session counted for its backend only
        # once the backend had answered: 150 watches landed 63/46/41 (HAProxy and nginx:
        # 50/50/50).
        proxy = harness.start_kha_proxy(self.standins, health_check="tls", extra=["--balance", "leastconn"],
                                        owner=self)
        harness.wait_until(lambda: proxy.metrics_sum("kha_pool_backend_up") == 3, 15, "every backend to be up")
        spread = self.open_burst(proxy)
        self.assertEqual(sum(spread.values()), WATCHES)
        self.assertEqual(len(spread), 3, spread)
        most, least = max(spread.values()), min(spread.values())
        self.assertLessEqual(most / least, 1.2, f"a burst of watches landed unevenly: {dict(spread)}")


if __name__ == "__main__":
    unittest.main()
