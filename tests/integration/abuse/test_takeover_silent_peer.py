"""A takeover peer that never says "ready" cannot keep the admin endpoint down (issue
#14, item 6).

During a binary upgrade the old kha frees its admin address for the new process as it
hands over its listeners, and waits for the new process's "ready" (src/daemon/
takeover.h). A peer that takes the listeners and then stays silent used to keep the
admin endpoint (and so kubelet's liveness probe) down for as long as it liked. Now the
old process gives the peer 10 s, then closes the connection, serves the admin endpoint
again and goes on proxying.

Real `kha proxy --takeover-socket` in front of a real `kha standin` (kube-apiserver is
not packaged); the hostile peer is a real AF_UNIX SOCK_SEQPACKET client that speaks the
protocol up to the handover.
"""

import array
import os
import socket
import stat
import tempfile
import time
import unittest

from support import web
from support.process import wait_until
from support.proxy import start_kha_proxy
from support.standin import start_standin

READY_TIMEOUT = 10.0
SLACK = 5.0

CONFIG = """
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
"""


def receive_handover(sock, timeout=10.0):
    """Reads "listen <endpoint>" messages (each with a descriptor) until "end", as a new
    kha does. Returns [(endpoint, fd)]; the caller closes the descriptors."""
    sock.settimeout(timeout)
    got = []
    while True:
        fds = array.array("i")
        msg, ancdata, _, _ = sock.recvmsg(512, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        text = msg.decode()
        if text == "end":
            return got
        if not text.startswith("listen ") or not fds:
            raise AssertionError(f"unexpected takeover message {text!r}")
        got.append((text[len("listen "):], fds[0]))


class TakeoverSilentPeer(unittest.TestCase):
    def setUp(self):
        self.backend = start_standin("a", plain=True, owner=self)
        self.dir = tempfile.mkdtemp(prefix="kha-takeover-silent-")
        self.sock_path = os.path.join(self.dir, "takeover.sock")
        self.proxy = start_kha_proxy(config_text=CONFIG.format(a=self.backend.address),
                                     extra=["--takeover-socket", self.sock_path], owner=self)
        wait_until(lambda: os.path.exists(self.sock_path), 5, "the takeover socket")

    def admin_answers(self):
        try:
            return self.proxy.admin("/healthz", timeout=1).status == 200
        except OSError:
            return False

    def proxied(self):
        return web.request(f"http://127.0.0.1:{self.proxy.listen_port}/version", timeout=2)

    def test_socket_is_private(self):
        mode = stat.S_IMODE(os.stat(self.sock_path).st_mode)
        self.assertEqual(mode & 0o077, 0, f"takeover socket mode {oct(mode)}: others could take the listeners")

    def test_silent_peer_gives_the_admin_endpoint_back(self):
        self.assertEqual(self.proxied().identity, "a")
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.addCleanup(peer.close)
        peer.connect(self.sock_path)
        listeners = receive_handover(peer)
        handed_over_at = time.monotonic()
        for _, fd in listeners:
            self.addCleanup(os.close, fd)  # held, as a new process that hangs would
        self.assertTrue(listeners, "no listener handed over")
        # The old process freed the admin address for us...
        wait_until(lambda: not self.admin_answers(), 5, "the old process to free the admin address")
        # ...and, as we never say "ready", takes it back after its deadline.
        wait_until(self.admin_answers, READY_TIMEOUT + SLACK, "the admin endpoint back after the ready deadline")
        waited = time.monotonic() - handed_over_at
        self.assertGreater(waited, READY_TIMEOUT - 1.0, "the admin endpoint came back before the deadline")
        self.assertIn("takeover_aborted", self.proxy.process.stderr())
        self.assertIn("did not confirm", self.proxy.process.stderr())
        # The old process closed our connection and still proxies, and answers /readyz.
        peer.settimeout(5)
        self.assertEqual(peer.recv(64), b"")
        for _ in range(5):
            self.assertEqual(self.proxied().identity, "a")
        self.assertEqual(self.proxy.admin("/readyz").status, 200)
        # The takeover socket is offered again for a real upgrade.
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as again:
            again.connect(self.sock_path)


if __name__ == "__main__":
    unittest.main()
