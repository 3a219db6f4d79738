"""Issue #14, item 5: plain-text first bytes are never replayed to a second backend.

With client_first (the default) kha hedges a silent backend by sending the client's
first bytes to another one. That is safe for a TLS ClientHello (a server acts on
nothing before the handshake), not for a plain HTTP POST, which a second backend would
execute again. Three real `kha standin --plain` backends in hang mode (they accept and
never read); checks off so that only clients connect to them.
"""
import socket
import ssl
import unittest

from support import harness

POST = (b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: kube\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")


class PlaintextNotReplayed(unittest.TestCase):
    def setUp(self):
        self.standins = harness.start_standins(3, plain=True, mode="hang", owner=self)
        self.proxy = harness.start_kha_proxy(self.standins, health_check="none", owner=self)
        # Cleanups run last-first: the hung backends go before kha, so that its
        # sessions to them end and its SIGTERM drain is quick.
        self.addCleanup(lambda: [s.kill() for s in self.standins])

    def connections(self):
        return sum(s.state()["connections"] for s in self.standins)

    def wait_silence(self, sock, seconds=1.5):
        """Reads until kha's hedges (200 ms each) would all have fired; nothing comes back."""
        sock.settimeout(seconds)
        try:
            self.assertEqual(sock.recv(1), b"")
        except (TimeoutError, socket.timeout):
            pass

    def test_a_post_reaches_one_backend_only(self):
        with socket.create_connection(("127.0.0.1", self.proxy.listen_port), timeout=5) as s:
            s.sendall(POST)
            self.wait_silence(s)
            self.assertEqual(self.connections(), 1, "the POST was sent to more than one backend")

    def test_a_client_hello_is_still_hedged(self):
        # The control: the same silent backends, a TLS client: its hello goes to all three
        # (first-byte hedging is on in this set-up, so the test above can fail).
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.proxy.listen_port), timeout=5) as raw:
            raw.settimeout(1.5)
            with self.assertRaises((TimeoutError, socket.timeout, ssl.SSLError, OSError)):
                ctx.wrap_socket(raw, server_hostname="kube").close()
        harness.wait_until(lambda: self.connections() == 3, 5, "the hello to be hedged to every backend")


if __name__ == "__main__":
    unittest.main()
