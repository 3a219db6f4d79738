"""The stand-in kube-apiserver (`kha standin`) as a test object.

kube-apiserver is not packaged, so every scenario puts these in front of kha: each
answers with its identity (X-Standin-Identity header, /version "identity", watch
events), and can be made not ready, hung, reset, refusing, stopped or killed.
"""

import json

from . import web
from .process import kha_bin, start_process


class Standin:
    """One running `kha standin`.

    Attributes: name, host, port (data listener), control_port (plain HTTP, unaffected
    by modes), plain (bool), ca (CA file that verifies it, or None), process.
    """

    def __init__(self, name, process, host, port, control_port, plain, ca):
        self.name = name
        self.process = process
        self.host = host
        self.port = port
        self.control_port = control_port
        self.plain = plain
        self.ca = ca

    @property
    def pid(self):
        return self.process.pid

    @property
    def address(self):
        """"127.0.0.1:PORT" (IPv6 bracketed), as kha proxy --backend takes it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self, path="/"):
        return f"{'http' if self.plain else 'https'}://{self.address}{path}"

    def get(self, path, timeout=5.0, **kw):
        """GET on the data listener (certificate checks off unless ca= is passed)."""
        kw.setdefault("insecure", "ca" not in kw)
        return web.https_get(self.url(path), timeout=timeout, **kw)

    def _control(self, method, path):
        r = web.request(f"http://127.0.0.1:{self.control_port}{path}", method=method, timeout=5.0)
        if r.status != 200:
            raise AssertionError(f"standin {self.name}: {method} {path} answered {r.status}: {r.body}")
        return r

    def set_ready(self, ready):
        """/readyz answers 200 `ok` (True) or 500 with a failing shutdown check (False)."""
        self._control("POST", f"/_standin/readyz?status={200 if ready else 500}")

    def set_mode(self, mode):
        """normal | hang (accept, never answer) | reset (RST) | refuse (listener closed)."""
        self._control("POST", f"/_standin/mode?m={mode}")

    def state(self):
        """{"identity", "ready", "mode", "requests", "connections", "live", "handshakes_full",
        "handshakes_resumed", "handshakes_incomplete", "data_requests"} from the control port."""
        return json.loads(self._control("GET", "/_standin/state").body)

    def hang(self):
        """SIGSTOP the whole process: connects still complete (kernel), nothing answers."""
        self.process.hang()

    def resume(self):
        self.process.resume()

    def kill(self):
        """SIGKILL: connects are refused afterwards, open connections get RST/EOF."""
        return self.process.kill()

    def stop(self):
        """SIGTERM; returns the exit code (0 expected)."""
        return self.process.stop()


def start_standin(name, plain=False, cert=None, key=None, pki=None, mode=None, watch_interval=None,
                  endpoints_file=None, client_ca=None, host="127.0.0.1", port=0, extra=(), owner=None,
                  timeout=10.0):
    """Starts `kha standin --name name` and waits for its `listening` line.

    TLS with a self-signed certificate unless plain, cert/key (files) or pki (from
    make_ca: uses its server certificate). client_ca: a CA file; requests without a
    client certificate it signed get 401 (kube-apiserver with --anonymous-auth=false).
    owner: a unittest.TestCase to stop it in cleanup. Returns Standin.
    """
    if pki is not None:
        cert, key = pki.server_cert, pki.server_key
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    args = [kha_bin(), "standin", "--name", name, "--listen", listen, "--control", "127.0.0.1:0"]
    if plain:
        args.append("--plain")
    if cert:
        args += ["--cert", cert, "--key", key]
    if mode:
        args += ["--mode", mode]
    if watch_interval:
        args += ["--watch-interval", watch_interval]
    if client_ca:
        args += ["--client-ca", client_ca]
    if endpoints_file:
        args += ["--endpoints-file", str(endpoints_file)]
    args += list(extra)
    p = start_process(args, name=f"standin-{name}", owner=owner)
    line = p.wait_for_line("listening ", timeout)
    control = p.wait_for_line("control ", timeout)
    port = int(line.rsplit(":", 1)[1])
    control_port = int(control.rsplit(":", 1)[1])
    return Standin(name, p, host, port, control_port, plain, pki.ca if pki is not None else None)


def start_standins(count, prefix="apiserver", **kw):
    """Starts `count` stand-ins named prefix-1..prefix-count (same keyword arguments)."""
    return [start_standin(f"{prefix}-{i + 1}", **kw) for i in range(count)]
