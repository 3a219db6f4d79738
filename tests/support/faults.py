"""Fault scenarios through kha: an apiserver config with verified https checks, a paced
TLS client, a set of watches, a /metrics sampler and the kernel's accept queue.

Used by test_failover*.py, test_kubectl*.py and test_admin_proxy*.py. Every loop here
is bounded in count and time; every wait has a deadline.
"""

import resource
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from . import web
from .certs import make_ca
from .load import ClientLoad
from .process import free_port, wait_until
from .proxy import start_kha_proxy
from .standin import start_standins


def apiserver_config(standins, ca, server_name="localhost", close_sessions_on_down=True, health_extra="",
                     name="apiserver", path="/readyz"):
    """kha.yaml text (with @LISTEN_PORT@/@ADMIN_PORT@) for one frontend in front of
    standins (anything with .name and .address), checked with https `path` verified
    against ca with server_name. The other settings are kha's defaults."""
    backends = "".join(f"      - name: {s.name}\n        address: {s.address}\n" for s in standins)
    return (
        "admin:\n"
        "  listen: 127.0.0.1:@ADMIN_PORT@\n"
        "frontends:\n"
        f"  - name: {name}\n"
        "    listen: [\"127.0.0.1:@LISTEN_PORT@\"]\n"
        f"    close_sessions_on_down: {'true' if close_sessions_on_down else 'false'}\n"
        "    health:\n"
        "      kind: https\n"
        f"      path: {path}\n"
        f"{health_extra}"
        "      tls:\n"
        "        verify: true\n"
        f"        ca_file: {ca}\n"
        f"        server_name: {server_name}\n"
        "    backends:\n"
        f"{backends}")


class PacedClient:
    """One client opening a new TLS connection through kha every `interval` seconds
    (GET path, certificate verified against ca), for at most `count` requests or
    `duration` seconds. Each request is recorded as (t_start, t_end, identity).

    `lock` is held for the whole of each request: fault() takes it, so a fault lands
    between two requests and every request after it is one "caught by the fault"
    (an L4 proxy cannot rescue a response a backend had half sent when it died).
    """

    def __init__(self, url, ca, interval=0.02, duration=10.0, count=1000, timeout=5.0, path="/version"):
        self.url = url.rstrip("/") + path
        self.ca = ca
        self.timeout = timeout
        self.lock = threading.Lock()
        self.records = []
        self.load = ClientLoad(self._one, count=count, duration=duration, interval=interval, workers=1)

    def _one(self):
        with self.lock:
            t0 = time.monotonic()
            r = web.https_get(self.url, ca=self.ca, timeout=self.timeout)
            if r.status != 200:
                raise RuntimeError(f"status {r.status} from {r.identity}: {r.body[:120]}")
            self.records.append((t0, time.monotonic(), r.identity))
            return r.identity

    def start(self):
        self.load.start()
        return self

    def wait(self):
        return self.load.wait()

    def fault(self, action):
        """Runs action() between two requests; returns the monotonic time it ran."""
        with self.lock:
            t = time.monotonic()
            action()
        return t

    def last_answer_from(self, identity, after=0.0):
        """Start time of the last request `identity` answered at or after `after`, or None."""
        times = [t0 for t0, _, who in self.records if who == identity and t0 >= after]
        return max(times) if times else None

    def worst_latency(self, after=0.0):
        lat = [t1 - t0 for t0, t1, _ in self.records if t0 >= after]
        return max(lat) if lat else 0.0


class Watches:
    """`count` raw watch streams opened through kha (GET watch_path, verified against ca)."""

    def __init__(self, url, ca, count=30, path="/api/v1/namespaces/default/pods?watch=true", read_timeout=30.0):
        self.items = [web.Watch(url.rstrip("/") + path, ca=ca, read_timeout=read_timeout) for _ in range(count)]

    def on(self, identity):
        return [w for w in self.items if w.identity == identity]

    def by_identity(self):
        out = {}
        for w in self.items:
            out[w.identity] = out.get(w.identity, 0) + 1
        return out

    def close(self):
        for w in self.items:
            w.close()


def hostile_clients_setup(test, clients):
    """For a test that opens `clients` connections itself: raises this process's soft
    open-files limit to the hard one for the test (skips when even that is too low),
    then gives the test a CA (test.pki) and three TLS stand-in apiservers (test.standins)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < clients + 200:
        test.skipTest(f"the test itself needs {clients + 200} descriptors, hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    test.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
    tmp = tempfile.mkdtemp(prefix="kha-abuse-")
    test.addCleanup(shutil.rmtree, tmp, True)
    test.pki = make_ca(tmp)
    test.standins = start_standins(3, pki=test.pki, owner=test)


def metrics_listen_setup(test, prefix):
    """kha in front of two TLS stand-in apiservers (verified https checks) with a second
    listener, admin.metrics_listen, on a free port. Gives the test test.pki,
    test.standins, test.port (the metrics listener), test.config (the config text) and
    test.proxy; returns once both backends are up."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(shutil.rmtree, tmp, True)
    test.pki = make_ca(tmp)
    test.standins = start_standins(2, pki=test.pki, owner=test)
    test.port = free_port()
    test.config = apiserver_config(test.standins, test.pki.ca).replace(
        "  listen: 127.0.0.1:@ADMIN_PORT@\n", f"  listen: 127.0.0.1:@ADMIN_PORT@\n  metrics_listen: 127.0.0.1:{test.port}\n")
    test.proxy = start_kha_proxy(config_text=test.config, owner=test)
    wait_until(lambda: test.proxy.metrics_sum("kha_pool_backend_up") == 2, 15, "both backends up")


def open_stalled_clients(test, port, count):
    """`count` clients that connect to `port` and send the start of a ClientHello, then
    nothing: sessions that race and wait (the backlog takes what kha does not accept).
    Closed at the test's cleanup, or by the test through the returned list."""
    clients = []
    test.addCleanup(lambda: [c.close() for c in clients])
    for _ in range(count):
        c = socket.socket()
        c.settimeout(5)
        c.connect(("127.0.0.1", port))
        c.sendall(b"\x16\x03\x01")
        clients.append(c)
    return clients


def accept_queue(port):
    """Connections the kernel completed for the 127.0.0.1:port listener that its
    process has not accepted yet (a stopped process accepts none), including those the
    client already closed: the listener's Recv-Q as `ss` reads it over netlink
    (/proc/net/tcp takes seconds on a busy machine)."""
    r = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10)
    for line in r.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3].endswith(f":{port}"):
            return int(fields[1])
    raise AssertionError(f"no listener on port {port} in `ss -ltn`: {r.stdout!r} {r.stderr!r}")


class MetricsSampler:
    """Samples /metrics of a proxy every `interval` s in a thread (bounded by `duration`)
    and keeps (t, {(name, frozenset(labels)): value}); extra(): more values per sample
    (e.g. an accept queue), stored under the key "extra"."""

    def __init__(self, proxy, interval=0.05, duration=60.0, extra=None):
        self.proxy = proxy
        self.interval = interval
        self.duration = duration
        self.extra = extra
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        end = time.monotonic() + self.duration
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                text = self.proxy.metrics_text()
                values = {(n, frozenset(l.items())): v for n, l, v in web.parse_prometheus(text)}
                if self.extra is not None:
                    values["extra"] = self.extra()
                self.samples.append((time.monotonic(), values))
            except Exception:  # noqa: BLE001 - a missed sample is just a gap
                pass
            self._stop.wait(self.interval)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return self

    @staticmethod
    def value(values, name, labels):
        if name == "extra":
            return values.get("extra")
        want = set(labels.items())
        return sum(v for k, v in values.items() if k != "extra" and k[0] == name and want <= set(k[1]))

    def series(self, name, labels=None):
        """[(t, value)] of name summed over samples matching labels."""
        return [(t, self.value(v, name, labels or {})) for t, v in self.samples]

    def first_time(self, name, labels, pred, after=0.0):
        """Time of the first sample at or after `after` whose value satisfies pred, or None."""
        for t, v in self.series(name, labels):
            if t >= after and pred(v):
                return t
        return None

    def last_increase(self, name, labels, after=0.0):
        """Time of the last sample (after `after`) where the value grew, or None."""
        last, prev = None, None
        for t, v in self.series(name, labels):
            if prev is not None and v > prev and t >= after:
                last = t
            prev = v
        return last

    def at(self, name, labels, t):
        """Value in the first sample at or after t (None when there is none)."""
        for ts, v in self.series(name, labels):
            if ts >= t:
                return v
        return None
