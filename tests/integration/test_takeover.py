"""Binary upgrade: a new `kha proxy --takeover` takes the listening sockets of the
running one over a Unix socket; the old one stops accepting, drains and exits 0.

With long sessions open and clients connecting in a loop, no connection is refused
and the open sessions finish on the old process. Backends are TCP echo servers on
loopback; both processes are the real binary with the same config.
"""

import os
import socket
import subprocess
import tempfile
import unittest
from pathlib import Path

from support.load import ClientLoad
from support.process import kha_bin, start_process, wait_until
from support.proxy import start_kha_proxy
from support import web
from support.proxy_fixtures import IdentityBackend

from integration.test_reload import Stream, short_request

CONFIG = """
shutdown_grace: 20s
admin:
  listen: 127.0.0.1:@ADMIN_PORT@
frontends:
  - name: api
    listen: ["127.0.0.1:@LISTEN_PORT@"]
    health:
      kind: tcp
      interval: 100ms
      rise: 1
      fall: 3
    backends:
      - name: a
        address: {a}
      - name: b
        address: {b}
"""


class TakeoverTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = IdentityBackend("a"), IdentityBackend("b")
        self.addCleanup(self.a.stop)
        self.addCleanup(self.b.stop)
        self.dir = tempfile.mkdtemp(prefix="kha-takeover-")
        self.sock = os.path.join(self.dir, "takeover.sock")

    def test_upgrade_refuses_nothing_and_old_sessions_finish_on_the_old_process(self):
        old = start_kha_proxy(config_text=CONFIG.format(a=self.a.address, b=self.b.address),
                              extra=["--takeover-socket", self.sock], owner=self)
        self.addCleanup(old.stop)
        wait_until(lambda: os.path.exists(self.sock), 5, "the takeover socket")
        port = old.listen_port
        streams = [Stream(port, duration=60) for _ in range(6)]
        load = ClientLoad(short_request(port), count=20000, duration=30, interval=0.002, workers=4).start()
        wait_until(lambda: load.result.ok > 100, 10, "load through the old process")

        new = start_process([kha_bin(), "proxy", "--config", old.config_path, "--takeover-socket", self.sock,
                             "--takeover"], name="kha-new", owner=self)
        self.addCleanup(new.stop)
        wait_until(lambda: "took_over" in new.stderr(), 15, "the new process to take over")
        # The new process builds its frontend through the same apply as a start or reload,
        # its listener adopting the old process's socket.
        applied = [line for line in new.stderr().splitlines() if "frontend_applied frontend=api" in line]
        self.assertEqual(len(applied), 1, new.tail())
        self.assertIn("cause=takeover rebuilt=backends,listeners", applied[0])
        self.assertIn(f"+127.0.0.1:{port}(adopted)", applied[0])
        wait_until(lambda: "takeover_done" in old.process.stderr(), 5, "the old process to hand over")
        # The new process serves the admin endpoint now, and new connections.
        wait_until(lambda: web.request(f"http://127.0.0.1:{old.admin_port}/healthz", timeout=2).status == 200, 10,
                   "the new admin endpoint")
        new_sessions = lambda: web.metric_sum(  # noqa: E731
            web.request(f"http://127.0.0.1:{old.admin_port}/metrics", timeout=2).body, "kha_proxy_sessions_total")
        wait_until(lambda: (new_sessions() or 0) > 50, 15, "sessions served by the new process")

        # The old process still serves its open sessions (drain) and stays up for them.
        self.assertTrue(old.process.alive(), old.process.tail())
        for s in streams:
            chunks = s.chunks
            wait_until(lambda s=s, n=chunks: s.chunks > n, 5, "an old session still flowing")
        for s in streams:
            self.assertIsNone(s.stop(), "an open session was cut by the upgrade")
        self.assertEqual(old.process.wait(timeout=25), 0, old.process.tail())
        self.assertIn("stopped", old.process.stderr())

        result = load.stop()
        self.assertEqual(result.failures, [], result.summary())
        self.assertTrue(new.alive(), new.tail())
        self.assertIn(short_request(port)(), ("a", "b"))
        # The new process serves the takeover socket for the next upgrade.
        self.assertTrue(Path(self.sock).exists())
        tail = new.tail()
        self.assertEqual(new.stop(), 0, tail)

    def test_takeover_without_old_process_fails_clearly(self):
        r = subprocess.run([kha_bin(), "proxy", "--listen", "127.0.0.1:1", "--backend", "127.0.0.1:2", "--admin", "",
                            "--takeover-socket", self.sock, "--takeover"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot connect to " + self.sock, r.stderr)

    def test_failed_new_process_leaves_old_serving(self):
        old = start_kha_proxy(config_text=CONFIG.format(a=self.a.address, b=self.b.address),
                              extra=["--takeover-socket", self.sock], owner=self)
        self.addCleanup(old.stop)
        wait_until(lambda: os.path.exists(self.sock), 5, "the takeover socket")
        # The new process cannot start: its config names an admin address it cannot bind.
        bad = Path(self.dir) / "bad.yaml"
        bad.write_text(Path(old.config_path).read_text().replace(f"127.0.0.1:{old.admin_port}", "192.0.2.1:1"))
        r = subprocess.run([kha_bin(), "proxy", "--config", str(bad), "--takeover-socket", self.sock, "--takeover"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        wait_until(lambda: "takeover_aborted" in old.process.stderr(), 5, "the old process to keep serving")
        self.assertTrue(old.process.alive())
        self.assertIn(short_request(old.listen_port)(), ("a", "b"))
        wait_until(lambda: old.admin("/healthz").status == 200, 5, "the old admin endpoint back")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.connect(self.sock)  # still offered for the next attempt


if __name__ == "__main__":
    unittest.main()
