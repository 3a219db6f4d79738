"""kha proxy under systemd's Type=notify protocol, without systemd.

The test plays PID 1's part: it binds an AF_UNIX datagram socket, starts the
real `kha proxy` with NOTIFY_SOCKET and WATCHDOG_USEC pointing at it, and
asserts what kha-proxy.service relies on:
  READY=1     only once the listener accepts and the first check round is done
              (the backend has been probed);
  WATCHDOG=1  at least every WATCHDOG_USEC/2;
  RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a SIGHUP reload;
  STOPPING=1  on SIGTERM, then exit 0.
The backend is a TCP listener on 127.0.0.1 that counts probe connections.
"""
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

KHA_BIN = os.environ.get("KHA_BIN", "../build/src/cli/kha")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingBackend:
    """Accepts TCP connections on 127.0.0.1 and closes them, counting each."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


class NotifyProtocol(unittest.TestCase):
    def setUp(self):
        help_run = subprocess.run([KHA_BIN, "proxy", "--help"], capture_output=True, text=True, timeout=30)
        if "not built yet" in help_run.stdout + help_run.stderr:
            self.skipTest("kha proxy is not built yet")
        self.uses_sd_notify = b"NOTIFY_SOCKET" in Path(KHA_BIN).read_bytes()
        self.tmp = tempfile.TemporaryDirectory(prefix="kha-notify-")
        self.notify_path = os.path.join(self.tmp.name, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.backend = CountingBackend()
        self.listen_port = free_port()
        self.proc = None
        self.messages = []

    def start_with_notify(self):
        config = Path(self.tmp.name) / "kha.yaml"
        config.write_text(f"""\
shutdown_grace: 2s
admin:
  listen: 127.0.0.1:{free_port()}
frontends:
  - name: apiserver
    listen: ["127.0.0.1:{self.listen_port}"]
    health:
      kind: tcp
      interval: 200ms
      rise: 1
      fall: 1
    backends:
      - name: b1
        address: 127.0.0.1:{self.backend.port}
""")
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path, WATCHDOG_USEC="1000000")
        env.pop("WATCHDOG_PID", None)
        self.log_path = Path(self.tmp.name) / "kha.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([KHA_BIN, "proxy", "--config", str(config)], env=env,
                                         stdout=subprocess.DEVNULL, stderr=log)

    def tearDown(self):
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if hasattr(self, "backend"):
            self.backend.close()
            self.notify.close()
            self.tmp.cleanup()

    def wait_for(self, wanted, deadline_s=10.0, on_message=None):
        """Receives datagrams until one has the assignment `wanted`; returns it."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            self.notify.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.notify.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append(data)
            if on_message:
                on_message(data)
            if wanted in data.split("\n"):
                return data
        out = ""
        if self.proc.poll() is not None:
            out = self.log_path.read_text()[-2000:]
        self.fail(f"no {wanted} within {deadline_s}s; got {self.messages}; kha exited={self.proc.poll()} {out}")

    def test_ready_watchdog_reload_stop(self):
        # src/common/sd_notify.o is linked into kha only once the daemon calls SdNotify.
        if not self.uses_sd_notify:
            self.skipTest("kha proxy does not call SdNotify yet (src/common/sd_notify.h)")
        self.start_with_notify()
        probes_at_ready = []

        def at_ready(data):
            if "READY=1" in data.split("\n") and not probes_at_ready:
                probes_at_ready.append(self.backend.accepted)
                with socket.create_connection(("127.0.0.1", self.listen_port), timeout=2):
                    pass  # the listener is bound and accepting

        self.wait_for("READY=1", on_message=at_ready)
        self.assertGreaterEqual(probes_at_ready[0], 1, "READY=1 before the first check round")

        self.wait_for("WATCHDOG=1", deadline_s=2.0)
        self.wait_for("WATCHDOG=1", deadline_s=2.0)

        self.proc.send_signal(signal.SIGHUP)
        reloading = self.wait_for("RELOADING=1")
        usec = [l for l in reloading.split("\n") if l.startswith("MONOTONIC_USEC=")]
        self.assertEqual(len(usec), 1, reloading)
        self.assertAlmostEqual(int(usec[0].split("=")[1]) / 1e6, time.clock_gettime(time.CLOCK_MONOTONIC), delta=10)
        self.wait_for("READY=1")

        self.proc.send_signal(signal.SIGTERM)
        self.wait_for("STOPPING=1")
        self.assertEqual(self.proc.wait(timeout=30), 0)

    def test_nothing_is_sent_without_notify_socket(self):
        # Without NOTIFY_SOCKET the proxy runs as a plain process: it serves and stops cleanly.
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
        proc = subprocess.Popen([KHA_BIN, "proxy", "--listen", f"127.0.0.1:{self.listen_port}",
                                 "--backend", f"127.0.0.1:{self.backend.port}", "--health-check", "tcp"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.listen_port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                self.fail("kha proxy did not listen within 10s")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=40), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.notify.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.notify.recv(4096)


if __name__ == "__main__":
    unittest.main()
