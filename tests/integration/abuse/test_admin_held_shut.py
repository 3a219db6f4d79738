"""The admin endpoint cannot be held shut (issue #14, item 3).

kubelet restarts kha when its liveness probe (GET /healthz on the admin port) fails.
A local client that opens more idle connections than the admin server has slots
(64), or dribbles its request head one byte a second (slow loris), used to keep every
slot busy and have new connections closed at accept: /healthz failed for as long as
it liked. Now a request must arrive whole within the header timeout, and a full table
evicts the connection that has waited longest for its request, so the probe gets in.

Real `kha proxy` in front of a real `kha standin` (kube-apiserver is not packaged);
the hostile clients are real sockets on loopback that reconnect whatever kha closes,
so that the pressure holds for the whole test.
"""

import socket
import threading
import time
import unittest

from support import web
from support.process import wait_until
from support.proxy import start_kha_proxy
from support.standin import start_standin

CONNECTIONS = 200
PROBE_SECONDS = 8  # past two header timeouts (3 s): the defence holds, not just the first seconds
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 4096


class Attacker:
    """Keeps `count` connections open to `port`; with `dribble`, each sends one more byte
    of an endless request head every second. Reconnects whatever the server closes, up
    to `reconnects` a second (so that a slow loris lives past the header timeout)."""

    def __init__(self, port, count=CONNECTIONS, dribble=False, reconnects=50):
        self.port, self.count, self.dribble, self.reconnects = port, count, dribble, reconnects
        self._budget = 0.0
        self.sockets = {}  # socket -> bytes of HEAD sent
        self.opened = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="admin attacker", daemon=True)

    def start(self):
        self._fill()
        self._thread.start()
        return self

    def _fill(self, limited=False):
        while len(self.sockets) < self.count and not self._stop.is_set():
            if limited:
                if self._budget < 1:
                    return
                self._budget -= 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", self.port))
            if err not in (0, 115):  # 115: EINPROGRESS
                s.close()
                self.errors.append(err)
                return
            self.sockets[s] = 0
            self.opened += 1

    def _reap(self):
        for s in list(self.sockets):
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":  # closed by kha
                    raise ConnectionResetError
            except BlockingIOError:
                continue  # still open, nothing to read
            except OSError:
                pass
            s.close()
            del self.sockets[s]

    def _send_one_byte_each(self):
        for s, sent in list(self.sockets.items()):
            try:
                s.send(HEAD[sent % len(HEAD):sent % len(HEAD) + 1])
                self.sockets[s] = sent + 1
            except OSError:
                pass  # reaped on the next round

    def _run(self):
        last = time.monotonic()
        next_byte = last + 1
        while not self._stop.wait(0.05):
            now = time.monotonic()
            self._budget = min(self.reconnects, self._budget + self.reconnects * (now - last))
            last = now
            self._reap()
            self._fill(limited=True)
            if self.dribble and time.monotonic() >= next_byte:
                self._send_one_byte_each()
                next_byte += 1

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for s in self.sockets:
            s.close()
        self.sockets.clear()


class AdminHeldShut(unittest.TestCase):
    def setUp(self):
        self.backend = start_standin("apiserver-1", plain=True, owner=self)
        self.proxy = start_kha_proxy(backends=[self.backend], owner=self)
        wait_until(lambda: self.proxy.admin("/readyz").status == 200, 10, "the backend up (/readyz 200)")

    def probe_repeatedly(self, attacker):
        """GET /healthz and /readyz, each answered 200 within 1 s, for PROBE_SECONDS."""
        deadline = time.monotonic() + PROBE_SECONDS
        rounds = 0
        while time.monotonic() < deadline:
            for path in ("/healthz", "/readyz"):
                try:
                    r = web.request(f"http://127.0.0.1:{self.proxy.admin_port}{path}", timeout=1.0)
                except OSError as e:
                    self.fail(f"{path} failed after {rounds} rounds with {len(attacker.sockets)} hostile "
                              f"connections open: {type(e).__name__}: {e}")
                self.assertEqual(r.status, 200, f"{path}: {r.body}")
                self.assertLess(r.elapsed, 1.0, path)
            rounds += 1
        return rounds

    def test_idle_connections(self):
        attacker = Attacker(self.proxy.admin_port).start()
        self.addCleanup(attacker.stop)
        self.assertGreaterEqual(self.probe_repeatedly(attacker), 10)
        attacker.stop()
        self.assertGreater(attacker.opened, CONNECTIONS, "kha closed none of the idle connections")
        evicted = self.proxy.metrics("kha_admin_connections_evicted_total")
        self.assertGreater(evicted or 0, 0, "no eviction counted")
        self.assertTrue(self.proxy.process.alive())

    def test_slow_loris(self):
        attacker = Attacker(self.proxy.admin_port, dribble=True, reconnects=10).start()
        self.addCleanup(attacker.stop)
        self.assertGreaterEqual(self.probe_repeatedly(attacker), 10)
        attacker.stop()
        # Connections that dribble past the header timeout are cut, not served for ever.
        wait_until(lambda: (self.proxy.metrics("kha_admin_header_timeouts_total") or 0) > 0, 5,
                   "header timeouts counted")
        self.assertGreater(self.proxy.metrics("kha_admin_connections_evicted_total") or 0, 0)
        self.assertTrue(self.proxy.process.alive())


if __name__ == "__main__":
    unittest.main()
