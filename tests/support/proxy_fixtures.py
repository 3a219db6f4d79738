"""Fixtures for kha proxy data-path tests: loopback backends that say who they are,
a black hole and a hung process. The proxy itself is started with proxy.py's
start_kha_proxy.

Everything listens on 127.0.0.1 or ::1 only. Every wait has a deadline.
"""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time


class IdentityBackend:
    """A threaded TCP server on loopback. Modes:
    - "identity": replies `<name>:<first bytes>` to the first read (after `delay`
      seconds), then echoes.
    - "hash": reads to EOF, then replies the sha256 hex digest of all bytes and closes
      (proves byte-exact transfer and client->server half-close).
    - "server_close": sends `<name>:bye`, shuts down its write side, then counts what
      the client still sends (server->client half-close).
    """

    def __init__(self, name, mode="identity", host="127.0.0.1", family=socket.AF_INET, delay=0.0):
        self.name = name
        self.mode = mode
        self.delay = delay  # identity: seconds before the first reply (a slow server)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.address = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        self.accepted = 0
        self.open = 0
        self.received_after_close = 0
        self.lock = threading.Lock()
        self.closing = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.open += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(60)
            if self.mode == "hash":
                h = hashlib.sha256()
                while True:
                    data = conn.recv(1 << 20)
                    if not data:
                        break
                    h.update(data)
                conn.sendall(h.hexdigest().encode())
            elif self.mode == "server_close":
                conn.sendall(f"{self.name}:bye".encode())
                conn.shutdown(socket.SHUT_WR)
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    with self.lock:
                        self.received_after_close += len(data)
            else:
                first = True
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    if first:
                        if self.delay:
                            time.sleep(self.delay)  # the server being slow, not a test waiting
                        conn.sendall(f"{self.name}:".encode() + data)
                        first = False
                    else:
                        conn.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open -= 1
            conn.close()

    def stop(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass


class BlackHole:
    """A port whose SYNs go unanswered: a listener with a full accept queue that
    never accepts. Linux drops further SYNs (tcp_abort_on_overflow=0)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.fillers = []
        # Fill the queue (backlog 0 still holds one, plus one in SYN-RECV on some kernels).
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)
        time.sleep(0.05)
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", self.port))
            self.works = False  # the kernel still answered: no black hole here
        except (socket.timeout, OSError):
            self.works = True
        finally:
            probe.close()

    def stop(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


class HungBackend:
    """A separate process that listens and answers, then is SIGSTOPped: its kernel
    still completes TCP handshakes, but nothing ever answers (a hung apiserver)."""

    def __init__(self, name):
        code = (
            "import socket,sys\n"
            "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "s.bind(('127.0.0.1',0));s.listen(1024);print(s.getsockname()[1],flush=True)\n"
            "while True:\n"
            "  c,_=s.accept();d=c.recv(65536);c.sendall(sys.argv[1].encode()+b':'+d);c.close()\n"
        )
        self.proc = subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.address = f"127.0.0.1:{self.port}"

    def hang(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def stop(self):
        try:
            os.kill(self.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
