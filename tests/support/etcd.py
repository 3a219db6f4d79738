"""A real 3-member etcd cluster (Debian's etcd-server) on 127.0.0.1 for tests.

Clients talk TLS (the test PKI's server certificate) to each member's client URL;
peers talk plain HTTP on loopback. Data directories live under a directory the
caller owns. Members can be killed, stopped, resumed and restarted on the same ports.
"""

import json
import os
import shutil
import subprocess

from .process import free_port, start_process, wait_until
from . import web


def etcd_bins():
    """(etcd, etcdctl) paths, or None when either is missing."""
    etcd, ctl = shutil.which("etcd"), shutil.which("etcdctl")
    return (etcd, ctl) if etcd and ctl else None


class Member:
    def __init__(self, name, client_port, peer_port, data_dir):
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.process = None

    @property
    def address(self):
        return f"127.0.0.1:{self.client_port}"

    @property
    def client_url(self):
        return f"https://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self):
        return f"http://127.0.0.1:{self.peer_port}"


class EtcdCluster:
    """Three members m1..m3; start() launches them and waits for /health on each."""

    def __init__(self, directory, pki, owner=None, size=3):
        self.pki = pki
        self.owner = owner
        self.members = [Member(f"m{i + 1}", free_port(), free_port(), os.path.join(directory, f"m{i + 1}"))
                        for i in range(size)]
        self.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def _start_member(self, m):
        etcd, _ = etcd_bins()
        args = [etcd, "--name", m.name, "--data-dir", m.data_dir,
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-token", "kha-test",
                "--initial-cluster-state", "new", "--cert-file", self.pki.server_cert,
                "--key-file", self.pki.server_key, "--logger", "zap", "--log-outputs", "stderr"]
        # etcd re-raises SIGTERM (exit -15): its exit status is not ours to check.
        m.process = start_process(args, name=f"etcd-{m.name}", owner=self.owner, check_exit=False)

    def start(self, timeout=60.0):
        for m in self.members:
            self._start_member(m)
        for m in self.members:
            self.wait_healthy(m, timeout)
        return self

    def healthy(self, m):
        r = web.https_get(m.client_url + "/health", ca=self.pki.ca, timeout=2)
        return r.status == 200 and json.loads(r.body).get("health") == "true"

    def wait_healthy(self, m, timeout=60.0):
        def ok():
            if m.process is not None and not m.process.alive():
                raise AssertionError(f"etcd {m.name} exited: {m.process.tail()}")
            return self.healthy(m)
        try:
            wait_until(ok, timeout, f"etcd {m.name} to be healthy")
        except AssertionError as e:
            raise AssertionError(f"{e}\netcd {m.name} stderr:\n{m.process.tail()}") from None

    def restart(self, m, timeout=60.0):
        """Starts a killed member again on its ports and data directory."""
        self._start_member(m)
        self.wait_healthy(m, timeout)

    def leader(self):
        """The member that leads now (from `etcdctl endpoint status` on every member)."""
        r = self.ctl([m.client_url for m in self.members], "endpoint", "status", "-w", "json")
        if r.returncode != 0:
            raise AssertionError(f"etcdctl endpoint status failed: {r.stderr}")
        for st in json.loads(r.stdout):
            if st["Status"]["leader"] == st["Status"]["header"]["member_id"]:
                return next(m for m in self.members if m.client_url == st["Endpoint"])
        raise AssertionError("no member reports itself leader")

    def ctl(self, endpoints, *args, timeout=20.0):
        """etcdctl (API v3) against endpoints with the test CA; returns CompletedProcess."""
        _, ctl = etcd_bins()
        env = {**os.environ, "ETCDCTL_API": "3"}
        return subprocess.run([ctl, "--endpoints", ",".join(endpoints), "--cacert", self.pki.ca,
                               "--dial-timeout", "3s", "--command-timeout", "5s", *args],
                              env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
