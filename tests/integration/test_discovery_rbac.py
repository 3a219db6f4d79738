"""Endpoint discovery with the least-privilege credential of deploy/: a ServiceAccount
token that may only get, list and watch the EndpointSlices of `default`
(deploy/kha-discovery.rbac.yaml), in a kubeconfig made by
deploy/kha-discovery-kubeconfig.sh.

kube-apiserver is not packaged: the apiservers are stand-ins (`kha standin`) that
authorize every resource request against the manifest's own RBAC objects (`--rbac`,
kube-apiserver's RBAC semantics) and know the ServiceAccount's token (`--token`).
kubectl is not packaged either: the script gets a `kubectl` that answers its one
question (`get secret kha-discovery-token -o jsonpath=...`) as the real one would.
"""

import base64
import json
import os
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from support.certs import make_ca
from support.process import wait_until
from support.proxy import start_kha_proxy
from support.standin import start_standin
from support.web import https_get

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "deploy" / "kha-discovery.rbac.yaml"
SCRIPT = ROOT / "deploy" / "kha-discovery-kubeconfig.sh"
TOKEN = "kha-discovery-test-token"
USER = "system:serviceaccount:kube-system:kha-discovery"
OTHER_TOKEN = "other-test-token"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"

CONFIG = """
admin:
  listen: 127.0.0.1:@ADMIN_PORT@
frontends:
  - name: api
    listen: ["127.0.0.1:@LISTEN_PORT@"]
    health:
      kind: tls
      interval: 100ms
      rise: 1
    discovery:
      kubeconfig: {kubeconfig}
      retry: 200ms
    backends:
      - name: seed
        address: {seed}
"""


class DiscoveryRbacTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="kha-discovery-rbac-"))
        cls.pki = make_ca(cls.dir / "pki")
        cls.kubeconfig = cls.dir / "discovery.kubeconfig"
        cls.make_kubeconfig(cls.kubeconfig)

    @classmethod
    def make_kubeconfig(cls, out):
        """Runs the script as an operator would, with a kubectl that serves the Secret."""
        bin_dir = cls.dir / "bin"
        bin_dir.mkdir(exist_ok=True)
        token = base64.b64encode(TOKEN.encode()).decode()
        ca = base64.b64encode(Path(cls.pki.ca).read_bytes()).decode()
        kubectl = bin_dir / "kubectl"
        kubectl.write_text("#!/bin/sh\n"
                           'case "$*" in *"get secret kha-discovery-token -o jsonpath="*) ;; '
                           '*) echo "unexpected: kubectl $*" >&2; exit 1;; esac\n'
                           f"printf '%s' '{token} {ca}'\n")
        kubectl.chmod(0o755)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
        subprocess.run([str(SCRIPT), "https://localhost:6443", str(out)], env=env, check=True, timeout=30)

    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="kha-discovery-rbac-", dir=self.dir))
        self.endpoints = self.work / "endpoints.json"

    def start_apiservers(self, manifest=MANIFEST):
        extra = ["--rbac", str(manifest), "--token", f"{TOKEN}={USER}",
                 "--token", f"{OTHER_TOKEN}=system:serviceaccount:kube-system:default"]
        return [start_standin(f"apiserver-{i}", pki=self.pki, endpoints_file=self.endpoints, watch_interval="100ms",
                              extra=extra, owner=self) for i in range(1, 4)]

    def set_members(self, members):
        tmp = self.endpoints.with_suffix(".tmp")
        tmp.write_text(json.dumps([m.address for m in members]))
        tmp.rename(self.endpoints)

    def start_proxy(self, seed):
        proxy = start_kha_proxy(config_text=CONFIG.format(kubeconfig=self.kubeconfig, seed=seed.address), owner=self)
        self.addCleanup(proxy.stop)
        return proxy

    @staticmethod
    def backends(proxy):
        return {b["address"] for fe in proxy.backends()["frontends"] for b in fe["backends"] if b["state"] == "up"}

    def test_the_script_writes_a_private_token_kubeconfig(self):
        mode = stat.S_IMODE(self.kubeconfig.stat().st_mode)
        self.assertEqual(mode & 0o007, 0, f"the kubeconfig holds a token; mode {oct(mode)} lets anyone read it")
        text = self.kubeconfig.read_text()
        self.assertIn(f"token: {TOKEN}", text)
        self.assertIn("server: https://localhost:6443", text)

    def test_discovery_works_with_the_manifests_service_account(self):
        s1, s2, s3 = self.start_apiservers()
        self.set_members([s1, s2])
        proxy = self.start_proxy(seed=s1)
        wait_until(lambda: self.backends(proxy) == {s1.address, s2.address}, 15, "the set learned from the list")
        self.set_members([s1, s2, s3])
        wait_until(lambda: self.backends(proxy) == {s1.address, s2.address, s3.address}, 15,
                   "a member added, seen by the watch")
        self.assertNotIn("discovery_failed", proxy.process.stderr())

    def test_the_service_account_may_do_nothing_else(self):
        s1 = self.start_apiservers()[0]
        self.set_members([s1])
        mine = {"Authorization": f"Bearer {TOKEN}"}

        def get(path, headers=mine):
            return https_get(f"https://127.0.0.1:{s1.port}{path}", ca=self.pki.ca, headers=headers).status

        self.assertEqual(get(SLICES.format(ns="default")), 200)
        self.assertEqual(get(SLICES.format(ns="default") + "/kubernetes"), 200)
        self.assertEqual(get(SLICES.format(ns="kube-system")), 403, "another namespace's slices")
        self.assertEqual(get("/apis/discovery.k8s.io/v1/endpointslices"), 403, "every namespace's slices")
        self.assertEqual(get("/api/v1/namespaces/default/secrets"), 403, "secrets")
        self.assertEqual(get("/api/v1/namespaces/kube-system/secrets/kha-discovery-token"), 403, "its own token")
        self.assertEqual(get("/api/v1/namespaces/default/pods"), 403, "pods")
        # The gate itself: no token, an unknown one, another account's.
        self.assertEqual(get(SLICES.format(ns="default"), headers={}), 401)
        self.assertEqual(get(SLICES.format(ns="default"), headers={"Authorization": "Bearer nope"}), 401)
        self.assertEqual(get(SLICES.format(ns="default"), headers={"Authorization": f"Bearer {OTHER_TOKEN}"}), 403)
        # Health checks stay anonymous, as kube-apiserver's /readyz.
        self.assertEqual(get("/readyz", headers={}), 200)

    def test_a_missing_permission_is_reported_and_retried(self):
        # The negative control: without `watch`, the list works and every watch is refused.
        narrow = self.work / "no-watch.rbac.yaml"
        narrow.write_text(MANIFEST.read_text().replace('verbs: ["get", "list", "watch"]', 'verbs: ["get", "list"]'))
        self.assertNotEqual(narrow.read_text(), MANIFEST.read_text())
        s1, s2, _ = self.start_apiservers(narrow)
        self.set_members([s1, s2])
        proxy = self.start_proxy(seed=s1)
        wait_until(lambda: self.backends(proxy) == {s1.address, s2.address}, 15, "the set learned from the list")
        wait_until(lambda: proxy.process.stderr().count("discovery_failed") >= 2, 15,
                   "the refused watch to be reported, and retried")
        self.assertIn("403", proxy.process.stderr())


if __name__ == "__main__":
    unittest.main()
