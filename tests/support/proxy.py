"""The real `kha proxy` as a test object: ports, admin endpoints, metrics."""

import json
import signal
import tempfile
from pathlib import Path

from . import web
from .process import free_port, is_listening, kha_bin, start_process, wait_until


class Proxy:
    """One running `kha proxy`. Attributes: listen_port, admin_port (None when the
    admin server is off), config_path (None in flag form), process."""

    def __init__(self, process, listen_port, admin_port, config_path):
        self.process = process
        self.listen_port = listen_port
        self.admin_port = admin_port
        self.config_path = config_path

    @property
    def pid(self):
        return self.process.pid

    @property
    def address(self):
        return f"127.0.0.1:{self.listen_port}"

    def url(self, path="/", scheme="https"):
        return f"{scheme}://127.0.0.1:{self.listen_port}{path}"

    def admin(self, path, timeout=5.0):
        """GET path on the admin server; returns web.Response."""
        if self.admin_port is None:
            raise AssertionError("this proxy runs without an admin server")
        return web.request(f"http://127.0.0.1:{self.admin_port}{path}", timeout=timeout)

    def metrics_text(self):
        r = self.admin("/metrics")
        if r.status != 200:
            raise AssertionError(f"/metrics answered {r.status}: {r.body[:200]}")
        return r.body

    def metrics(self, name, labels=None):
        """Value of the one sample `name` whose labels include `labels`; None if absent."""
        return web.metric_value(self.metrics_text(), name, labels)

    def metrics_sum(self, name, labels=None):
        return web.metric_sum(self.metrics_text(), name, labels)

    def backends(self):
        """The /backends JSON document."""
        return json.loads(self.admin("/backends").body)

    def reload(self, config_text=None):
        """Optionally rewrites the config file (same placeholders), then SIGHUP."""
        if config_text is not None:
            Path(self.config_path).write_text(_fill(config_text, self.listen_port, self.admin_port))
        self.process.signal(signal.SIGHUP)

    def stop(self):
        """SIGTERM; returns the exit code."""
        return self.process.stop()

    def kill(self):
        return self.process.kill()


def _fill(text, listen_port, admin_port):
    return text.replace("@LISTEN_PORT@", str(listen_port)).replace("@ADMIN_PORT@", str(admin_port))


def start_kha_proxy(backends=(), health_check="tcp", args=None, config_text=None, listen_port=None,
                    admin_port=None, admin=True, extra=(), owner=None, timeout=15.0, wrapper=()):
    """Starts `kha proxy` and waits until it listens on listen_port and (when admin)
    /healthz answers 200.

    Flag form (default): --listen 127.0.0.1:listen_port, one --backend per item of
    backends (strings "127.0.0.1:PORT" or Standin objects), --health-check
    health_check, --admin 127.0.0.1:admin_port (when admin), then extra.
    args: the complete argument list after `kha proxy` instead (ports still chosen
    here and passed through the @LISTEN_PORT@/@ADMIN_PORT@ placeholders).
    config_text: YAML written to a file and passed as --config; the same placeholders
    are filled in. Ports default to free ones. wrapper: a command kha runs under
    (e.g. ["prlimit", "--nofile=1024:1024"]). Returns Proxy.
    """
    listen_port = listen_port or free_port()
    admin_port = (admin_port or free_port()) if admin else None
    config_path = None
    if config_text is not None:
        config_path = str(Path(tempfile.mkdtemp(prefix="kha-proxy-config-")) / "kha.yaml")
        Path(config_path).write_text(_fill(config_text, listen_port, admin_port))
        argv = ["--config", config_path]
    elif args is not None:
        argv = [_fill(str(a), listen_port, admin_port) for a in args]
    else:
        argv = ["--listen", f"127.0.0.1:{listen_port}"]
        for b in backends:
            argv += ["--backend", getattr(b, "address", b)]
        argv += ["--health-check", health_check]
        if admin:
            argv += ["--admin", f"127.0.0.1:{admin_port}"]
    argv += list(extra)
    p = start_process([*wrapper, kha_bin(), "proxy", *argv], name="kha-proxy", owner=owner)

    def ready():
        if not p.alive():
            raise AssertionError(f"kha proxy exited with {p.popen.returncode}; stderr:\n{p.tail()}")
        if not is_listening(listen_port):  # no probe connection: the proxy would forward it
            return False
        return admin_port is None or web.request(f"http://127.0.0.1:{admin_port}/healthz", timeout=2).status == 200

    try:
        wait_until(ready, timeout, f"kha proxy to listen on {listen_port}")
    except AssertionError as e:
        p.stop()
        raise AssertionError(f"{e}\nkha proxy stderr:\n{p.tail()}") from None
    return Proxy(p, listen_port, admin_port, config_path)
