"""How kha spreads long-lived sessions over healthy apiservers (issue #17).

kube-apiserver is not packaged: the apiservers are `kha standin`s. A client is one TLS
connection that stays (a watch, an HTTP/2 connection of client-go); the spread is read
from kha's /backends.
"""
import os
import selectors
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unittest
from collections import Counter

from support import harness

WATCHES = 150
# Frontend settings that turn hedging off: a hedge hands a session to whichever backend
# answers first, and on a loaded machine (CI runs tests side by side, under TSan) the
# stand-ins answer a burst of handshakes slowly enough to be hedged (38/58/54 was seen).
# That is hedging doing its job; the burst tests measure leastconn's and slow start's own choice.
NO_HEDGE = "    hedge:\n      connect_delay: 0s\n      first_byte_delay: 0s\n"


def client_hello():
    """The bytes of one TLS ClientHello, as any client's first flight."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def backend_sessions(proxy):
    """The sessions each backend holds, from kha's /backends."""
    return Counter({b["name"]: b["active_sessions"] for fe in proxy.backends()["frontends"] for b in fe["backends"]})


def start_proxy(test, standins, settings, fall=2):
    """kha (leastconn, tls checks every 200 ms) in front of `standins`, with more of the
    frontend's settings (YAML lines at its indent); returns once every backend is up."""
    backends = "".join(f"      - name: {s.name}\n        address: {s.address}\n" for s in standins)
    config = ("admin:\n  listen: 127.0.0.1:@ADMIN_PORT@\nfrontends:\n"
              "  - name: api\n    listen: [\"127.0.0.1:@LISTEN_PORT@\"]\n    balance: leastconn\n" + settings +
              f"    health:\n      kind: tls\n      interval: 200ms\n      rise: 1\n      fall: {fall}\n"
              f"    backends:\n{backends}")
    proxy = harness.start_kha_proxy(config_text=config, owner=test)
    harness.wait_until(lambda: proxy.metrics_sum("kha_pool_backend_up") == len(standins), 15, "every backend up")
    return proxy


def open_burst(test, proxy, count):
    """`count` clients whose ClientHellos reach kha within a few milliseconds (as every
    watch of a node reconnecting after a failover): connect all, then send all. Returns
    the sessions each backend holds once the race is over (counting earlier clients)."""
    hello = client_hello()
    before = sum(backend_sessions(proxy).values())
    clients = []
    test.addCleanup(lambda: [c.close() for c in clients])
    for _ in range(count):
        clients.append(socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5))
    for c in clients:
        c.sendall(hello)
    for c in clients:  # every session has its backend once each client got a ServerHello
        test.assertTrue(c.recv(5), "kha closed a client instead of picking a backend")
    harness.wait_until(lambda: sum(backend_sessions(proxy).values()) == before + count, 10,
                       "every session to count for its backend")
    return backend_sessions(proxy)


class ThreeStandins(unittest.TestCase):
    """A test CA (self.pki) and three TLS stand-in apiservers (self.standins)."""

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-balance-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.standins = harness.start_standins(3, pki=self.pki, owner=self)


class BurstBalance(ThreeStandins):

    def open_burst(self, proxy):
        return open_burst(self, proxy, WATCHES)

    def test_leastconn_spreads_a_burst_of_watches_evenly(self):
        # Before connects in flight were counted, a session counted for its backend only
        # once the backend had answered: 150 watches landed 63/46/41 (HAProxy and nginx:
        # 50/50/50).
        proxy = start_proxy(self, self.standins, NO_HEDGE, fall=5)
        spread = self.open_burst(proxy)
        self.assertEqual(sum(spread.values()), WATCHES)
        self.assertEqual(len(spread), 3, spread)
        self.assertEqual(proxy.metrics_sum("kha_proxy_hedges_total"), 0, "hedging was meant to be off")
        most, least = max(spread.values()), min(spread.values())
        self.assertLessEqual(most / least, 1.2, f"a burst of watches landed unevenly: {dict(spread)}")


class ReconnectingWatch(threading.Thread):
    """A client as client-go keeps a watch: one TLS connection streaming events; when it
    closes, a new one at once. `current`: the apiserver it streams from now (None between
    connections). `cut`: streams that ended inside an event (the last bytes were not the
    end of a chunk holding a whole event line)."""

    def __init__(self, port, ca, stop):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.ctx = ssl.create_default_context(cafile=ca)
        self.current = None
        self.cut = 0
        self.connects = 0

    def run(self):
        while not self.stop.is_set():
            try:
                conn = self.ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.port), timeout=5),
                                            server_hostname="localhost")
            except OSError:
                self.stop.wait(0.05)  # the client's own back-off, as client-go's
                continue
            with conn:
                self.connects += 1
                self.stream(conn)
            self.current = None

    def stream(self, conn):
        conn.sendall(b"GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: localhost\r\n\r\n")
        conn.settimeout(0.5)
        head, tail = b"", b""
        while not self.stop.is_set():
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            if self.current is None:
                head += data
                if b"\r\n\r\n" in head:
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"x-standin-identity:"):
                            self.current = line.split(b":", 1)[1].strip().decode()
            tail = (tail + data)[-4:]
        if not self.stop.is_set() and self.current is not None and not tail.endswith(b"\n\r\n"):
            self.cut += 1


class Rebalancing(unittest.TestCase):
    """After an apiserver restarts, kha moves its share of the long-lived sessions back."""

    # The issue's ~300 client-go-like watches; 90 under the sanitizers, which slow kha
    # (and the test's 300 TLS threads) down several times.
    WATCHES = 90 if os.environ.get("KHA_SANITIZED") == "1" else 300

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-rebalance-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.standins = harness.start_standins(3, pki=self.pki, watch_interval="200ms", owner=self)

    def start(self, enabled):
        self.proxy = start_proxy(self, self.standins,
                                 f"    rebalance:\n      enabled: {'true' if enabled else 'false'}\n      settle: 1s\n"
                                 "      rate_percent: 20\n      quiet: 100ms\n    slow_start: 2s\n")
        self.stop = threading.Event()
        self.addCleanup(self.stop.set)
        self.watches = [ReconnectingWatch(self.proxy.listen_port, self.pki.ca, self.stop) for _ in range(self.WATCHES)]
        for w in self.watches:
            w.start()
        harness.wait_until(lambda: sum(self.spread().values()) == self.WATCHES, 20, "every watch streaming")

    def spread(self):
        return Counter(w.current for w in self.watches if w.current is not None)

    def restart_one(self):
        """The third apiserver goes away (its watches move to the others) and comes back."""
        s3 = self.standins[2]
        s3.set_mode("refuse")
        harness.wait_until(lambda: self.spread()[s3.name] == 0 and sum(self.spread().values()) == self.WATCHES, 20,
                           "the watches to leave the stopped apiserver")
        s3.set_mode("normal")
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up") == 3, 15, "the apiserver back up")
        self.cut_before = sum(w.cut for w in self.watches)
        return s3

    def get_version(self):
        r = harness.https_get(self.proxy.url("/version"), ca=self.pki.ca)
        if r.status != 200:
            raise RuntimeError(f"status {r.status} from {r.identity}")
        return r.identity

    def test_the_returned_apiserver_gets_its_share_back_without_cutting_an_event(self):
        self.start(enabled=True)
        # Beside the watches, a client making short requests (kubectl, a controller's
        # GETs): none of them may fail while one apiserver leaves, returns and the
        # rebalancer moves sessions (bounded: 2,000 requests or 60 s).
        load = harness.ClientLoad(self.get_version, count=2000, duration=60, interval=0.05).start()
        self.addCleanup(load.stop)
        s3 = self.restart_one()

        def balanced():
            spread = self.spread()
            counts = [spread[s.name] for s in self.standins]
            return sum(counts) >= self.WATCHES - 3 and min(counts) > 0 and max(counts) / min(counts) <= 1.5
        harness.wait_until(balanced, 30, f"the sessions to spread again (now {dict(self.spread())})")
        self.assertGreater(self.proxy.metrics_sum("kha_proxy_sessions_rebalanced_total") or 0, 0)
        self.assertGreater(self.spread()[s3.name], 0)
        harness.wait_until(lambda: self.proxy.metrics("kha_proxy_frontend_session_skew_ratio", {"frontend": "api"})
                           <= 1.5, 10, "the skew metric to show the spread")
        self.assertEqual(sum(w.cut for w in self.watches) - self.cut_before, 0,
                         "a rebalanced watch was cut inside an event")
        # Every backend streams watch events again: each shows a byte rate.
        rates = {b["name"]: b["bytes_per_s"] for fe in self.proxy.backends()["frontends"] for b in fe["backends"]}
        self.assertGreater(min(rates.values()), 0, rates)
        result = load.stop()
        self.assertGreater(result.ok, 20, "the request loop ran")
        self.assertEqual(result.failures, [], "requests failed while sessions moved")
        self.assertEqual(result.hung, 0)

    def test_without_rebalancing_the_skew_stays(self):
        # The control: the same restart with rebalance.enabled false. Watched for three
        # times the settle time the other test rebalances after.
        self.start(enabled=False)
        s3 = self.restart_one()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertEqual(self.spread()[s3.name], 0, "sessions moved without rebalancing")
            time.sleep(0.2)
        self.assertEqual(self.proxy.metrics_sum("kha_proxy_sessions_rebalanced_total") or 0, 0)
        # The pinning shows: the skew (45 against an empty backend), the old sessions' age.
        self.assertGreaterEqual(self.proxy.metrics("kha_proxy_frontend_session_skew_ratio", {"frontend": "api"}), 20)
        ages = {b["name"]: b["mean_session_age_s"] for fe in self.proxy.backends()["frontends"] for b in fe["backends"]}
        self.assertEqual(ages[s3.name], 0)
        # Pinning shows as bytes too: the others stream the watch events, the returned one nothing.
        harness.wait_until(lambda: all(b["bytes_per_s"] > 0 for fe in self.proxy.backends()["frontends"]
                                       for b in fe["backends"] if b["name"] != s3.name), 5, "byte rates sampled")
        rates = {b["name"]: b["bytes_per_s"] for fe in self.proxy.backends()["frontends"] for b in fe["backends"]}
        self.assertEqual(rates[s3.name], 0, rates)
        self.assertGreater(min(ages[s.name] for s in self.standins[:2]), 2.0, ages)
        # The age distribution counts every active session once: all of them under a
        # minute old here (tests/unit/proxy/session_ages_test.cc ages them further).
        for fe in self.proxy.backends()["frontends"]:
            for b in fe["backends"]:
                self.assertEqual(b["session_ages"]["0-1m"], b["active_sessions"], b)
                self.assertEqual(sum(b["session_ages"].values()), b["active_sessions"], b)
        self.assertEqual(self.proxy.metrics("kha_proxy_backend_sessions_by_age",
                                            {"frontend": "api", "backend": s3.name, "age": "0-1m"}), 0)
        self.assertGreater(self.proxy.metrics("kha_proxy_backend_sessions_by_age",
                                              {"frontend": "api", "backend": self.standins[0].name, "age": "0-1m"}), 10)


class SlowStart(ThreeStandins):
    """A returning apiserver is offered a growing share of new sessions, not all of them:
    leastconn alone hands an empty backend every new client (a restarted apiserver with
    cold caches would take a node's whole reconnect burst)."""

    def burst_after_return(self, slow_start):
        """30 sessions on each of two apiservers while the third is away; it comes back;
        a burst of 40 new clients. Returns how many of the 40 the returned one took."""
        proxy = start_proxy(self, self.standins,
                            f"    slow_start: {slow_start}\n    rebalance:\n      enabled: false\n" + NO_HEDGE)
        s3 = self.standins[2]
        s3.set_mode("refuse")
        harness.wait_until(lambda: proxy.metrics_sum("kha_pool_backend_up") == 2, 15, "the third apiserver down")
        spread = open_burst(self, proxy, 60)
        self.assertEqual(spread[s3.name], 0, spread)
        s3.set_mode("normal")
        harness.wait_until(lambda: proxy.metrics_sum("kha_pool_backend_up") == 3, 15, "the third apiserver back")
        self.share = {b["name"]: b["slow_start_share"] for fe in proxy.backends()["frontends"] for b in fe["backends"]}
        return open_burst(self, proxy, 40)[s3.name]

    def test_a_returning_apiserver_takes_a_share_of_a_burst_not_all_of_it(self):
        took = self.burst_after_return("30s")  # offered 10% now, all in 30 s
        self.assertLessEqual(took, 16, f"the returning apiserver took {took} of 40 new sessions")
        s1, s2, s3 = self.standins
        self.assertLess(self.share[s3.name], 0.5, "/backends shows the ramp")
        self.assertEqual((self.share[s1.name], self.share[s2.name]), (1, 1))

    def test_without_slow_start_leastconn_gives_it_the_burst(self):
        # The control: 0s turns it off, and leastconn fills the empty backend first.
        took = self.burst_after_return("0s")
        self.assertGreaterEqual(took, 30, f"the returning apiserver took {took} of 40 new sessions")
        self.assertEqual(self.share[self.standins[2].name], 1)


class HerdShaping(unittest.TestCase):
    """The sessions pinned to an apiserver that answers "no" (here: refuses connects, its
    sessions still work) are closed spread over close_on_down_spread, not in one instant:
    their clients reconnect (and re-list) on the surviving apiservers over that window.
    Those of a silent (hung) apiserver are stalled: they are closed at once."""

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-herd-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.standins = harness.start_standins(3, pki=self.pki, owner=self)

    def close_times(self, spread, fault="refuse"):
        """60 clients on three apiservers; the third fails (`fault`: refuse or hang).
        Returns when (monotonic) each of the clients it held saw kha close it."""
        proxy = start_proxy(self, self.standins,
                            f"    close_on_down_spread: {spread}\n    rebalance:\n      enabled: false\n", fall=1)
        hello = client_hello()
        clients = [socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5) for _ in range(60)]
        self.addCleanup(lambda: [c.close() for c in clients])
        for c in clients:
            c.sendall(hello)
        for c in clients:  # each backend answered: every session relays, none still racing
            self.assertTrue(c.recv(1), "a backend's first bytes")
        harness.wait_until(lambda: sum(backend_sessions(proxy).values()) == 60, 10, "every session placed")
        pinned = backend_sessions(proxy)[self.standins[2].name]
        self.assertGreater(pinned, 10)
        sel = selectors.DefaultSelector()
        for c in clients:
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
        if fault == "hang":
            self.standins[2].hang()
            self.addCleanup(self.standins[2].resume)
        else:
            self.standins[2].set_mode(fault)
        closed, deadline = [], time.monotonic() + 15
        while len(closed) < pinned and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed.append(time.monotonic())
                    sel.unregister(key.fileobj)
        self.assertEqual(len(closed), pinned, "every session of the down apiserver closed, no other")
        return closed

    def test_the_closes_are_spread_over_the_window(self):
        closed = self.close_times("1s")
        self.assertGreaterEqual(max(closed) - min(closed), 0.4, "the closes came in one instant")
        self.assertLessEqual(max(closed) - min(closed), 2.0, "the closes took longer than the window")

    def test_without_a_window_they_come_at_once(self):
        # The control: 0s closes every pinned session in one step.
        closed = self.close_times("0s")
        self.assertLess(max(closed) - min(closed), 0.3)

    def test_a_silent_backend_has_its_sessions_closed_at_once(self):
        # Hung (SIGSTOP): the probes time out; its clients are stalled already, so the
        # window does not apply to them.
        closed = self.close_times("1s", fault="hang")
        self.assertLess(max(closed) - min(closed), 0.3, "a hung backend's stalled sessions were held back")


if __name__ == "__main__":
    unittest.main()
