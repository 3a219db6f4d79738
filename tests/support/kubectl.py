"""The real `kubectl` (a client certificate, the test CA, no kubeconfig) as a test client."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time


def kubectl_bin():
    return shutil.which("kubectl")


class Kubectl:
    """kubectl pointed at server (https://HOST:PORT) with pki's CA and client certificate;
    HOME and KUBECONFIG are a private empty directory so nothing from the machine leaks in."""

    def __init__(self, server, pki):
        self.home = tempfile.mkdtemp(prefix="kha-kubectl-")
        kubeconfig = os.path.join(self.home, "config")
        open(kubeconfig, "w").close()
        self.env = {**os.environ, "HOME": self.home, "KUBECONFIG": kubeconfig}
        self.base = [kubectl_bin(), "--server", server, "--certificate-authority", pki.ca,
                     "--client-certificate", pki.client_cert, "--client-key", pki.client_key]

    def run(self, *args, timeout=20.0):
        """Runs kubectl args; returns CompletedProcess (a hang raises TimeoutExpired)."""
        return subprocess.run(self.base + list(args), env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)

    def version_identity(self, timeout=20.0):
        """`kubectl get --raw /version`: the stand-in identity that answered; raises on failure."""
        r = self.run("get", "--raw", "/version", timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"kubectl get --raw /version exited {r.returncode}: {r.stderr.strip()}")
        return json.loads(r.stdout)["identity"]

    def watch(self, path="/api/v1/namespaces/default/pods?watch=true"):
        return RawWatch(self.base + ["get", "--raw", path], self.env)

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


class RawWatch:
    """`kubectl get --raw WATCH_PATH` streaming: events [(t, identity)], ended_at when
    kubectl's stream ended (it exits then), returncode, stderr."""

    def __init__(self, argv, env):
        self.events = []
        self.ended_at = None
        self.returncode = None
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                who = json.loads(line).get("identity")
            except ValueError:
                who = None
            self.events.append((time.monotonic(), who))
        self.returncode = self.proc.wait()
        self.ended_at = time.monotonic()

    @property
    def identity(self):
        return self.events[0][1] if self.events else None

    def ended(self):
        return self.ended_at is not None

    def stderr(self):
        return self.proc.stderr.read() if self.ended() else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._thread.join(timeout=10)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
