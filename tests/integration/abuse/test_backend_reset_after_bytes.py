"""Issue #14, item 4: every byte a backend sent reaches the client, even when the
backend then resets or closes at once.

Two hostile backends (raw sockets here: no packaged server writes then resets on
purpose): one answers N bytes and resets (SO_LINGER 0); one speaks first, a greeting,
and closes at once. A direct client gets every byte every time; through kha it must too
(before the fix: cut at 32 or 64 KiB in 1-6 of 20, the greeting lost in 27 of 40).
"""
import fcntl
import os
import socket
import struct
import termios
import threading
import time
import unittest

from support import harness

N = 4 * 1024 * 1024
BODY = os.urandom(N)
GREETING = b"220 kha-test ready\r\n"


class RawBackend:
    """Accepts on 127.0.0.1 and runs `serve(conn)` for each connection, on a thread."""

    def __init__(self, serve):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.serve = serve
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def close(self):
        self.sock.close()


def unacked(conn):
    """Bytes the peer's kernel has not acknowledged yet (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


def write_then_reset(conn):
    try:
        conn.settimeout(10)
        conn.recv(64)  # the request
        conn.sendall(BODY)
        # Every byte acknowledged by the peer's kernel before the reset: what it holds
        # then is the peer's to deliver (a reset with bytes unsent discards them here).
        deadline = time.monotonic() + 10
        while unacked(conn) and time.monotonic() < deadline:
            time.sleep(0.001)
    finally:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST


def greet_then_close(conn):
    conn.sendall(GREETING)
    conn.close()  # FIN


def read_all(sock, timeout=10, pause=0.0):
    """Reads to the end; `pause` after each read makes a slow client, so that kha still
    holds the backend's last bytes when the reset arrives (a fast one drains it first)."""
    sock.settimeout(timeout)
    got = bytearray()
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
            if pause:
                time.sleep(pause)
    except ConnectionResetError:
        pass  # the reset, passed on after the bytes
    return bytes(got)


class BackendResetAfterBytes(unittest.TestCase):
    def start(self, serve):
        backend = RawBackend(serve)
        self.addCleanup(backend.close)
        proxy = harness.start_kha_proxy([backend], health_check="none", owner=self)
        return backend, proxy

    def fetch(self, port, request=b"GET /big\n", pause=0.0):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            if request:
                s.sendall(request)
            return read_all(s, pause=pause)

    def test_bytes_before_a_reset_all_arrive(self):
        backend, proxy = self.start(write_then_reset)
        direct = [len(self.fetch(backend.port, pause=0.002)) for _ in range(5)]
        self.assertEqual(direct, [N] * 5, "the direct control lost bytes: the test itself is wrong")
        through = [len(self.fetch(proxy.listen_port, pause=p)) for p in (0.0, 0.002) * 10]
        self.assertEqual(through, [N] * 20, "bytes lost through kha (sizes received)")

    def test_a_greeting_then_close_arrives(self):
        backend, proxy = self.start(greet_then_close)
        self.assertEqual(self.fetch(backend.port, request=None), GREETING)
        # Each waits out TCP_DEFER_ACCEPT (1 s: the client is silent), so 15 tries, not 40.
        got = [self.fetch(proxy.listen_port, request=None) for _ in range(15)]
        self.assertEqual([g for g in got if g != GREETING], [], "greetings lost through kha")


if __name__ == "__main__":
    unittest.main()
