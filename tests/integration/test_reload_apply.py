"""Reload applies only what changed: each frontend's owner rebuilds the part of it the
config diff names, and says so in one "frontend_applied" line.

- A health-check setting change restarts the checkers and touches no session.
- Removing a backend drains that backend's sessions only; the others keep flowing.
- Changing one listen address rebinds that listener only: the other keeps its very
  socket (the same inode in /proc/net/tcp) and its sessions.
- Backend names resolve off the control loop; one that never resolves is down, the
  rest go on.

Backends are TCP echo servers on loopback (IdentityBackend), the proxy the real
`kha proxy --config`; sessions are long echo streams (test_reload.Stream).
"""

import unittest

from support.process import free_port, tcp_connects, wait_until
from support.proxy import start_kha_proxy
from support.proxy_fixtures import IdentityBackend

from integration.test_reload import Stream, config, short_request


def applied_lines(proxy, cause="reload"):
    """The frontend_applied log lines of `cause`, oldest first."""
    return [line for line in proxy.process.stderr().splitlines()
            if "frontend_applied" in line and f"cause={cause}" in line]


def listening_inodes(pid, port):
    """Inodes of the sockets listening on 127.0.0.1:port, from the process's view."""
    inodes = set()
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for row in f:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and local == f"0100007F:{port:04X}":
                inodes.add(inode)
    return inodes


class ReloadAppliesOnlyWhatChangedTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b, self.c = (IdentityBackend(n) for n in ("a", "b", "c"))
        for be in (self.a, self.b, self.c):
            self.addCleanup(be.stop)

    def start(self, backends, **kw):
        proxy = start_kha_proxy(config_text=config(backends, **kw), owner=self)
        self.addCleanup(proxy.stop)
        want = {b.name for b in backends}
        wait_until(lambda: self.up(proxy) == want, 10, f"{sorted(want)} up")
        return proxy

    @staticmethod
    def up(proxy):
        return {b["name"] for fe in proxy.backends()["frontends"] for b in fe["backends"] if b["state"] == "up"}

    def streams_on(self, port, names, each=2):
        """Long sessions through `port` until every backend in `names` has `each` of them."""
        streams = []

        def enough():
            streams.append(Stream(port))
            return all(sum(s.backend == n for s in streams) >= each for n in names)

        wait_until(enough, 10, f"streams on {sorted(names)}")
        for s in streams:
            self.addCleanup(s.stop)
        return streams

    def assert_flowing(self, streams):
        for s in streams:
            n = s.chunks
            wait_until(lambda s=s, n=n: s.chunks > n + 3, 5, f"the stream on {s.backend} still flowing")
            self.assertFalse(s.ended, f"stream on {s.backend} ended: {s.error}")

    def reload_and_wait_applied(self, proxy, text, n=1):
        proxy.reload(text)
        wait_until(lambda: proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}) == n, 10, "the reload")
        lines = applied_lines(proxy)
        self.assertEqual(len(lines), n, "\n".join(lines))
        return lines[-1]

    def test_check_setting_change_restarts_checkers_and_closes_no_session(self):
        proxy = self.start([self.a, self.b])
        streams = self.streams_on(proxy.listen_port, {"a", "b"})
        changed = config([self.a, self.b]).replace("interval: 100ms", "interval: 150ms").replace("fall: 3", "fall: 4")
        line = self.reload_and_wait_applied(proxy, changed)
        self.assertIn("frontend=api", line)
        self.assertIn("rebuilt=checkers ", line)  # checkers only: no listener, no backend
        self.assertIn("health.interval", line)
        self.assertIn("health.fall", line)
        self.assertEqual(self.up(proxy), {"a", "b"})
        self.assert_flowing(streams)
        self.assertNotIn("sessions_closed", proxy.process.stderr())
        self.assertNotIn("backend_retired", proxy.process.stderr())
        for s in streams:
            self.assertIsNone(s.stop(), f"stream on {s.backend} cut by a check-setting change")

    def test_removing_a_backend_drains_only_its_sessions(self):
        proxy = self.start([self.a, self.b, self.c])
        streams = self.streams_on(proxy.listen_port, {"a", "b", "c"})
        line = self.reload_and_wait_applied(proxy, config([self.a, self.c], drain="500ms"))
        self.assertIn("rebuilt=backends ", line)
        self.assertIn('changes="backends -b"', line)
        on_b = [s for s in streams if s.backend == "b"]
        others = [s for s in streams if s.backend != "b"]
        wait_until(lambda: all(s.ended for s in on_b), 10, "b's sessions closed after drain_timeout")
        wait_until(lambda: "backend_retired backend=b" in proxy.process.stderr(), 5, "b retired")
        self.assert_flowing(others)
        for s in others:
            self.assertIsNone(s.stop(), f"stream on {s.backend} cut by removing b")
        self.assertEqual(self.up(proxy), {"a", "c"})
        for _ in range(10):
            self.assertIn(short_request(proxy.listen_port)(), ("a", "c"))

    def test_listener_change_rebinds_only_that_listener(self):
        y, z = free_port(), free_port()
        x_text = "127.0.0.1:@LISTEN_PORT@"
        proxy = self.start([self.a, self.b], listen=(x_text, f"127.0.0.1:{y}"))
        x = proxy.listen_port
        x_inodes = listening_inodes(proxy.pid, x)
        self.assertEqual(len(x_inodes), 1, x_inodes)
        on_x, on_y = Stream(x), Stream(y)
        self.addCleanup(on_x.stop)
        self.addCleanup(on_y.stop)

        line = self.reload_and_wait_applied(proxy, config([self.a, self.b], listen=(x_text, f"127.0.0.1:{z}")))
        self.assertIn("rebuilt=listeners ", line)
        self.assertIn(f'changes="listeners -127.0.0.1:{y} +127.0.0.1:{z}"', line)
        self.assertNotIn(str(x), line)
        wait_until(lambda: not tcp_connects("127.0.0.1", y), 5, "the removed listener to close")
        self.assertIn(short_request(z)(), ("a", "b"))
        self.assertEqual(listening_inodes(proxy.pid, x), x_inodes, "the unchanged listener was rebound")
        self.assertIn(short_request(x)(), ("a", "b"))
        # Sessions accepted on either listener, the removed one included, go on.
        self.assert_flowing([on_x, on_y])
        self.assertIsNone(on_x.stop())
        self.assertIsNone(on_y.stop())

    def test_backend_names_resolve_off_the_control_loop(self):
        # A name resolves on Asio's resolver thread; the checker starts with the answer.
        named = IdentityBackend("named")
        self.addCleanup(named.stop)
        named.address = f"localhost:{named.port}"
        proxy = self.start([self.a, named])
        streams = self.streams_on(proxy.listen_port, {"a", "named"}, each=1)
        # One that never resolves: the reload goes through, the backend is down and
        # retried, nothing else is touched.
        ghost = IdentityBackend("ghost")
        self.addCleanup(ghost.stop)
        ghost.address = "kha-test-no-such-host.invalid:1"
        line = self.reload_and_wait_applied(proxy, config([self.a, named, ghost]))
        self.assertIn('changes="backends +ghost"', line)
        wait_until(lambda: "backend_resolve_failed frontend=api backend=ghost" in proxy.process.stderr(), 20,
                   "the failed resolution logged")
        states = {b["name"]: b["state"] for fe in proxy.backends()["frontends"] for b in fe["backends"]}
        self.assertEqual(states, {"a": "up", "named": "up", "ghost": "down"})
        for _ in range(6):
            self.assertIn(short_request(proxy.listen_port)(), ("a", "named"))
        self.assert_flowing(streams)

    def test_unchanged_file_rebuilds_nothing(self):
        proxy = self.start([self.a, self.b])
        proxy.reload()
        wait_until(lambda: proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}) == 1, 10, "the reload")
        self.assertEqual(applied_lines(proxy), [])
        self.assertIn("changes=\"no changes\"", proxy.process.stderr())


if __name__ == "__main__":
    unittest.main()
