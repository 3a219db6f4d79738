"""Reload under load: SIGHUP and `kha reload` apply only the difference.

Clients keep streaming through kha (long sessions echoing a chunk every few tens of
milliseconds, plus short connections in a bounded loop) while the config is rewritten:
a backend added, one removed, timeouts changed, a listen address added and removed, and
a bad config that must change nothing. Backends are plain TCP echo servers on loopback
(IdentityBackend); the proxy is the real `kha proxy --config`. ListenerMoveTest moves a
listen address from one frontend to another in one SIGHUP.
"""

import socket
import subprocess
import threading
import time
import unittest

from support.load import ClientLoad
from support.process import free_port, kha_bin, tcp_connects, wait_until
from support.proxy import start_kha_proxy
from support.proxy_fixtures import IdentityBackend

# Fast checks, so that tests see a backend go down or up within a second.
HEALTH = """    health:
      kind: tcp
      interval: 100ms
      transition_interval: 50ms
      down_interval: 100ms
      rise: 1
      fall: 3
"""

CONFIG = """
drain_timeout: {drain}
shutdown_grace: 5s
admin:
  listen: 127.0.0.1:@ADMIN_PORT@
frontends:
  - name: api
    listen: [{listen}]
    timeouts:
      connect: {connect}
{health}    backends:
{backends}
"""


def config(backends, drain="1s", connect="1s", listen=("127.0.0.1:@LISTEN_PORT@",)):
    lines = "\n".join(f"      - name: {b.name}\n        address: {b.address}" for b in backends)
    return CONFIG.format(drain=drain, connect=connect, health=HEALTH, listen=", ".join(f'"{l}"' for l in listen),
                         backends=lines)


TWO_FRONTENDS = """
drain_timeout: 1s
shutdown_grace: 5s
admin:
  listen: 127.0.0.1:@ADMIN_PORT@
frontends:
{frontends}
"""

FRONTEND = """
  - name: {name}
    listen: [{listen}]
{health}    backends:
      - name: {backend.name}
        address: {backend.address}
"""


def two_frontends(a_listen, a_backend, b_listen, b_backend, b_first=False):
    """Frontends api-a and api-b, one backend each; listen: lists of host:port texts."""
    a = FRONTEND.format(health=HEALTH, name="api-a", listen=", ".join(f'"{l}"' for l in a_listen), backend=a_backend)
    b = FRONTEND.format(health=HEALTH, name="api-b", listen=", ".join(f'"{l}"' for l in b_listen), backend=b_backend)
    return TWO_FRONTENDS.format(frontends=(b + a) if b_first else (a + b))


class Stream:
    """One long client session: sends a numbered chunk every `period` s and checks the
    echo, until stop() or `duration` s (bounded). Records the backend that answered and
    how it ended: None while running or stopped by us, else the error."""

    def __init__(self, port, period=0.03, duration=60.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"hello")
        first = self.sock.recv(100).decode()
        self.backend = first.split(":", 1)[0]
        self.error = None
        self.chunks = 0
        self.period = period
        self.duration = duration
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        end = time.monotonic() + self.duration
        try:
            while not self._stop.is_set() and time.monotonic() < end:
                data = f"chunk-{self.chunks:06d}".encode()
                self.sock.sendall(data)
                got = b""
                while len(got) < len(data):
                    part = self.sock.recv(len(data) - len(got))
                    if not part:
                        raise ConnectionError("closed by peer")
                    got += part
                if got != data:
                    raise AssertionError(f"echo mismatch: {got!r} != {data!r}")
                self.chunks += 1
                self._stop.wait(self.period)
        except Exception as e:  # noqa: BLE001 - recorded and asserted on
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.sock.close()

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=10)
        return self.error

    @property
    def ended(self):
        return not self.thread.is_alive()


def short_request(port):
    def fn():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"ping")
            reply = s.recv(100).decode()
            if not reply.endswith(":ping"):
                raise AssertionError(f"unexpected reply {reply!r}")
            return reply.split(":", 1)[0]
    return fn


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b, self.c = (IdentityBackend(n) for n in ("a", "b", "c"))
        for be in (self.a, self.b, self.c):
            self.addCleanup(be.stop)
        self.proxy = start_kha_proxy(config_text=config([self.a, self.b]), owner=self)
        self.addCleanup(self.proxy.stop)
        wait_until(lambda: self.up_backends() == {"a", "b"}, 10, "a and b up")

    def up_backends(self):
        return {b["name"] for fe in self.proxy.backends()["frontends"] for b in fe["backends"] if b["state"] == "up"}

    def backend_names(self):
        return {b["name"] for fe in self.proxy.backends()["frontends"] for b in fe["backends"]}

    def kha_reload(self):
        return subprocess.run([kha_bin(), "reload", "--admin", f"127.0.0.1:{self.proxy.admin_port}"],
                              capture_output=True, text=True, timeout=40)

    def rewrite(self, text):
        from pathlib import Path
        Path(self.proxy.config_path).write_text(
            text.replace("@LISTEN_PORT@", str(self.proxy.listen_port)).replace("@ADMIN_PORT@", str(self.proxy.admin_port)))

    def test_backends_added_removed_and_timeouts_changed_under_load(self):
        port = self.proxy.listen_port
        streams = []
        wait_until(lambda: (streams.append(Stream(port)) or {s.backend for s in streams} >= {"a", "b"}
                            and len(streams) >= 6), 10, "streams on a and b")
        load = ClientLoad(short_request(port), count=3000, duration=30, interval=0.01, workers=2).start()

        # 1. add c and change the connect timeout, by SIGHUP.
        self.proxy.reload(config([self.a, self.b, self.c], connect="2s"))
        wait_until(lambda: self.up_backends() == {"a", "b", "c"}, 10, "c joins after its first check")
        wait_until(lambda: load.result.identities["c"] > 0, 10, "short connections reach c")
        for s in streams:
            self.assertIsNone(s.error, f"stream on {s.backend} cut by adding a backend")

        # 2. remove a, by `kha reload`: its sessions drain up to drain_timeout (1s), then are closed.
        self.rewrite(config([self.b, self.c], connect="500ms"))
        removed_at = time.monotonic()
        r = self.kha_reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok", r.stdout)
        on_a = [s for s in streams if s.backend == "a"]
        wait_until(lambda: all(s.ended for s in on_a), 10, "sessions on a closed after drain_timeout")
        self.assertGreaterEqual(time.monotonic() - removed_at, 0.9, "sessions on a closed before drain_timeout")
        wait_until(lambda: self.backend_names() == {"b", "c"}, 10, "a leaves the backend set")
        # ... and /metrics: no series of a is left to alert on.
        self.assertNotIn('backend="a"', self.proxy.metrics_text())
        self.assertEqual(self.proxy.metrics("kha_health_transitions_total", {"backend": "c", "to": "down"}), 0)
        before = load.result.identities["a"]
        time.sleep(0.5)  # a window in which no new session may reach a (the load keeps running)
        self.assertEqual(load.result.identities["a"], before, "new sessions still reach the removed backend")

        result = load.stop()
        self.assertEqual(result.failures, [], result.summary())
        self.assertGreater(result.ok, 50, result.summary())
        for s in streams:
            if s.backend == "a":
                continue
            self.assertFalse(s.ended, f"stream on {s.backend} ended: {s.error}")
            chunks = s.chunks
            wait_until(lambda s=s, n=chunks: s.chunks > n, 5, "stream still flowing")
            self.assertIsNone(s.stop())
        self.assertEqual(self.proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}), 2)

    def test_bad_config_changes_nothing(self):
        port = self.proxy.listen_port
        streams = [Stream(port) for _ in range(4)]
        load = ClientLoad(short_request(port), count=2000, duration=20, interval=0.01, workers=2).start()
        # Exported at 0 from the start, so that increase() sees the first failure.
        failed_before = self.proxy.metrics("kha_daemon_reloads_total", {"result": "failed"})
        self.assertIsNotNone(failed_before)
        self.assertEqual(self.proxy.metrics("kha_config_last_reload_successful"), 1)
        applied_at = self.proxy.metrics("kha_config_last_reload_success_timestamp_seconds")
        self.assertLess(abs(applied_at - time.time()), 120, "the start applied the config: a wall-clock time")

        # rise: 0 is invalid; the frontend would also lose b and gain c if it were taken.
        bad = config([self.a, self.c]).replace("rise: 1", "rise: 0")
        self.rewrite(bad)
        r = self.kha_reload()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("health.rise", r.stderr)
        self.assertIn("kha.yaml", r.stderr)
        # SIGHUP with the same bad file: the log says why, the counter counts both.
        self.proxy.reload()
        wait_until(lambda: self.proxy.metrics("kha_daemon_reloads_total", {"result": "failed"}) == failed_before + 2,
                   10, "two failed reloads counted")
        wait_until(lambda: "reload_failed" in self.proxy.process.stderr(), 5, "reload_failed logged")
        self.assertIn("health.rise", self.proxy.process.stderr())
        self.assertEqual(self.proxy.metrics("kha_config_last_reload_successful"), 0)
        self.assertEqual(self.proxy.metrics("kha_config_last_reload_success_timestamp_seconds"), applied_at)
        self.assertEqual(self.backend_names(), {"a", "b"})
        self.assertEqual(self.up_backends(), {"a", "b"})

        result = load.stop()
        self.assertEqual(result.failures, [], result.summary())
        self.assertEqual(set(result.identities), {"a", "b"}, result.summary())
        for s in streams:
            self.assertIsNone(s.stop(), f"stream on {s.backend} cut by a failed reload")

        # Fixed file: the reload goes through and counts as ok.
        self.rewrite(config([self.a, self.c]))
        r = self.kha_reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: self.up_backends() == {"a", "c"}, 10, "a and c after the good reload")
        self.assertEqual(self.proxy.metrics("kha_config_last_reload_successful"), 1)
        self.assertGreater(self.proxy.metrics("kha_config_last_reload_success_timestamp_seconds"), applied_at)

    def test_listen_addresses_added_and_removed(self):
        extra = free_port()
        self.assertFalse(tcp_connects("127.0.0.1", extra))
        self.rewrite(config([self.a, self.b], listen=("127.0.0.1:@LISTEN_PORT@", f"127.0.0.1:{extra}")))
        self.assertEqual(self.kha_reload().returncode, 0)
        self.assertTrue(short_request(extra)() in ("a", "b"))
        kept = Stream(extra)  # a session accepted on the listener that goes away

        self.rewrite(config([self.a, self.b]))
        r = self.kha_reload()
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: not tcp_connects("127.0.0.1", extra), 5, "the removed listener to close")
        self.assertIn(short_request(self.proxy.listen_port)(), ("a", "b"))
        chunks = kept.chunks
        wait_until(lambda: kept.chunks > chunks, 5, "session accepted on the removed listener still flows")
        self.assertIsNone(kept.stop())

    def test_reload_via_cli_without_proxy_is_exit_1(self):
        r = subprocess.run([kha_bin(), "reload", "--admin", f"127.0.0.1:{free_port()}"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach the admin endpoint", r.stderr)
        r = subprocess.run([kha_bin(), "reload", "--admin", "nope"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2)


class ListenerMoveTest(unittest.TestCase):
    """One reload moves a listen address from one frontend to another: new connections
    follow the address, the other listeners keep their frontend, and a session accepted
    on the moved address before the reload keeps its backend (reloads drop nothing)."""

    def setUp(self):
        self.a, self.b = IdentityBackend("a"), IdentityBackend("b")
        for be in (self.a, self.b):
            self.addCleanup(be.stop)

    def move(self, b_first):
        # X (the proxy's listen port, which start_kha_proxy waits on) and Y on api-a, Z on api-b.
        x, y, z, admin = (free_port() for _ in range(4))
        x_text, y_text, z_text = "127.0.0.1:@LISTEN_PORT@", f"127.0.0.1:{y}", f"127.0.0.1:{z}"
        proxy = start_kha_proxy(config_text=two_frontends([x_text, y_text], self.a, [z_text], self.b),
                                listen_port=x, admin_port=admin, owner=self)

        def up():
            return {b["name"] for fe in proxy.backends()["frontends"] for b in fe["backends"] if b["state"] == "up"}

        wait_until(lambda: up() == {"a", "b"}, 10, "a and b up")
        self.assertEqual(short_request(x)(), "a")
        self.assertEqual(short_request(y)(), "a")
        self.assertEqual(short_request(z)(), "b")
        kept = Stream(x)  # accepted on X by api-a, before the reload
        self.addCleanup(kept.stop)
        self.assertEqual(kept.backend, "a")
        wait_until(lambda: kept.chunks > 2, 5, "the kept session flowing before the reload")
        # Short connections to X throughout: the move refuses none of them.
        load = ClientLoad(short_request(x), count=2000, duration=20, interval=0.01, workers=2).start()
        wait_until(lambda: load.result.identities["a"] >= 10, 10, "the load on X reaching a")

        proxy.reload(two_frontends([y_text], self.a, [z_text, x_text], self.b, b_first=b_first))  # SIGHUP
        wait_until(lambda: proxy.metrics_sum("kha_daemon_reloads_total") == 1, 10, "the reload to finish")
        log = proxy.process.stderr()
        reload_lines = "\n".join(line for line in log.splitlines() if " reload" in line)
        self.assertEqual(proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}), 1, reload_lines)
        applied = [line for line in log.splitlines() if " reloaded " in line]
        self.assertEqual(len(applied), 1, reload_lines)
        self.assertIn(f"api-a: listeners -127.0.0.1:{x}", applied[0])
        self.assertIn(f"api-b: listeners +127.0.0.1:{x}", applied[0])
        self.assertNotIn("reload_partial", log)
        self.assertEqual(proxy.metrics("kha_daemon_reloads_total", {"result": "failed"}), 0)

        # Every new connection to X reaches api-b's backend (once each worker has run the
        # change it was posted); Y and Z keep their frontends.
        wait_until(lambda: [short_request(x)() for _ in range(5)] == ["b"] * 5, 5, "X to lead to b")
        for _ in range(20):
            self.assertEqual(short_request(x)(), "b")
            self.assertEqual(short_request(y)(), "a")
            self.assertEqual(short_request(z)(), "b")

        wait_until(lambda: load.result.identities["b"] >= 10, 10, "the load on X reaching b")
        result = load.stop()
        self.assertEqual(result.failures, [], result.summary())
        self.assertEqual(set(result.identities), {"a", "b"}, result.summary())

        # The session accepted on X before the move still flows, on its connection to a.
        chunks = kept.chunks
        wait_until(lambda: kept.chunks > chunks + 5, 5, "the kept session still flowing after the reload")
        self.assertFalse(kept.ended, kept.error)
        self.assertIsNone(kept.stop())

    def test_address_moves_to_a_frontend_listed_after_its_old_one(self):
        self.move(b_first=False)

    def test_address_moves_to_a_frontend_listed_before_its_old_one(self):
        self.move(b_first=True)


if __name__ == "__main__":
    unittest.main()
