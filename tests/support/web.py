"""HTTP(S) clients for tests: one-shot requests, watch streams, Prometheus text."""

import http.client
import re
import socket
import ssl
import threading
import time
import urllib.parse


class Response:
    """status (int), headers (dict, lower-case names), body (str), elapsed (s)."""

    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    @property
    def identity(self):
        """The stand-in that answered (X-Standin-Identity), or None."""
        return self.headers.get("x-standin-identity")

    def __repr__(self):
        return f"Response({self.status}, identity={self.identity!r}, body={self.body[:80]!r})"


def tls_context(ca=None, insecure=False, cert=None, key=None, server_name_check=True):
    """A client SSLContext: verify against ca (a file) unless insecure; optional client cert."""
    if insecure:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = server_name_check
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _connection(url, ca, insecure, timeout, cert=None, key=None):
    u = urllib.parse.urlsplit(url)
    host = u.hostname
    if u.scheme == "https":
        ctx = tls_context(ca, insecure, cert, key)
        conn = http.client.HTTPSConnection(host, u.port or 443, timeout=timeout, context=ctx)
    elif u.scheme == "http":
        conn = http.client.HTTPConnection(host, u.port or 80, timeout=timeout)
    else:
        raise ValueError(f"unsupported URL scheme in {url}")
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    return conn, target


def request(url, method="GET", ca=None, insecure=False, timeout=5.0, headers=None, body=None, cert=None, key=None):
    """One request on a fresh connection; returns Response for any status.

    Raises OSError/ssl.SSLError/http.client errors for transport failures and
    socket.timeout (TimeoutError) after `timeout` seconds of silence.
    """
    start = time.monotonic()
    conn, target = _connection(url, ca, insecure, timeout, cert, key)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read().decode(errors="replace")
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - start)
    finally:
        conn.close()


def https_get(url, ca=None, insecure=False, timeout=5.0, headers=None, cert=None, key=None):
    """GET url (https:// or http://); see request()."""
    return request(url, "GET", ca=ca, insecure=insecure, timeout=timeout, headers=headers, cert=cert, key=key)


class Watch:
    """A long watch request read line by line in a background thread.

    events: list of (monotonic time, line str). ended_at: monotonic time when the
    stream ended (server or proxy closed it, or an error), else None; end_reason says how.
    Reads block at most `read_timeout` seconds before the watch counts as ended.
    """

    def __init__(self, url, ca=None, insecure=False, read_timeout=30.0, connect_timeout=5.0):
        self.url = url
        self.events = []
        self.status = None
        self.identity = None
        self.ended_at = None
        self.end_reason = None
        self._lock = threading.Lock()
        self._conn, target = _connection(url, ca, insecure, connect_timeout)
        self._conn.request("GET", target)
        resp = self._conn.getresponse()
        self.status = resp.status
        self.identity = resp.getheader("X-Standin-Identity")
        self._conn.sock.settimeout(read_timeout)
        self._resp = resp
        self._thread = threading.Thread(target=self._read, name=f"watch {url}", daemon=True)
        self._thread.start()

    def _read(self):
        reason = "closed"
        try:
            while True:
                line = self._resp.readline()
                if not line:
                    break
                with self._lock:
                    self.events.append((time.monotonic(), line.decode(errors="replace").rstrip("\n")))
        except Exception as e:  # noqa: BLE001 - any way the stream ends is recorded
            reason = f"{type(e).__name__}: {e}"
        with self._lock:
            self.end_reason = reason
            self.ended_at = time.monotonic()

    def count(self):
        with self._lock:
            return len(self.events)

    def lines(self):
        with self._lock:
            return [line for _, line in self.events]

    def ended(self):
        return self.ended_at is not None

    def close(self):
        """Closes the connection (the client leaves) and joins the reader."""
        try:
            if self._conn.sock is not None:
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._conn.close()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_prometheus(text):
    """Samples of a Prometheus text exposition: list of (name, {label: value}, float)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {raw!r}")
        labels = {}
        rest = m.group(3) or ""
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if not lm:
                raise ValueError(f"bad labels in {raw!r}")
            labels[lm.group(1)] = _unescape(lm.group(2))
            pos = lm.end()
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def select_samples(samples, name, labels=None):
    """Samples named `name` whose labels include every item of `labels`."""
    want = labels or {}
    return [(n, l, v) for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in want.items())]


def metric_value(text, name, labels=None):
    """The value of the one sample matching name and labels; None when there is none.

    Raises ValueError when several samples match (pass more labels, or use metric_sum).
    """
    found = select_samples(parse_prometheus(text), name, labels)
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(f"{len(found)} samples match {name}{labels or ''}: {[l for _, l, _ in found]}")
    return found[0][2]


def metric_sum(text, name, labels=None):
    """Sum over every sample matching name and labels (0.0 when none)."""
    return sum(v for _, _, v in select_samples(parse_prometheus(text), name, labels))
