"""Endpoint discovery: kha learns a frontend's backends from the EndpointSlices of
default/kubernetes, watched through kha itself, as k3s does.

kube-apiserver is not packaged: the apiservers are stand-ins (`kha standin`) sharing
one --endpoints-file, so every one of them serves the same EndpointSlice list and
watch; editing the file is a control-plane member joining or leaving. TLS is verified
with a test CA named in the kubeconfig; the client certificate is inline (base64).
"""

import base64
import json
import tempfile
import unittest
from pathlib import Path

from support.certs import make_ca
from support.process import wait_until
from support.proxy import start_kha_proxy
from support.standin import start_standin

CONFIG = """
admin:
  listen: 127.0.0.1:@ADMIN_PORT@
frontends:
  - name: api
    listen: ["127.0.0.1:@LISTEN_PORT@"]
    health:
      kind: tls
      interval: 100ms
      transition_interval: 50ms
      down_interval: 100ms
      rise: 1
      fall: 3
    discovery:
      kubeconfig: {kubeconfig}
      state_file: {state}
      retry: 200ms
    backends:
      - name: seed
        address: {seed}
"""

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: kha
clusters:
  - name: local
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority: ca.crt
users:
  - name: kha
    user:
      client-certificate-data: {cert}
      client-key-data: {key}
contexts:
  - name: kha
    context:
      cluster: local
      user: kha
"""


class DiscoveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="kha-discovery-"))
        cls.pki = make_ca(cls.dir / "pki")
        b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()  # noqa: E731
        cls.kubeconfig = Path(cls.pki.dir) / "kubeconfig"
        cls.kubeconfig.write_text(KUBECONFIG.format(cert=b64(cls.pki.client_cert), key=b64(cls.pki.client_key)))

    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="kha-discovery-", dir=self.dir))
        self.endpoints = self.work / "endpoints.json"
        self.state = self.work / "state.json"
        self.set_members([])
        self.apiservers = [start_standin(f"apiserver-{i}", pki=self.pki, endpoints_file=self.endpoints,
                                         watch_interval="100ms", owner=self) for i in range(1, 4)]

    def set_members(self, members):
        tmp = self.endpoints.with_suffix(".tmp")
        tmp.write_text(json.dumps([m.address for m in members]))
        tmp.rename(self.endpoints)

    def start_proxy(self, seed):
        proxy = start_kha_proxy(config_text=CONFIG.format(kubeconfig=self.kubeconfig, state=self.state,
                                                          seed=seed.address), owner=self)
        self.addCleanup(proxy.stop)
        return proxy

    def backends(self, proxy, state=None):
        return {b["address"] for fe in proxy.backends()["frontends"] for b in fe["backends"]
                if state is None or b["state"] == state}

    def wait_backends(self, proxy, members, what):
        want = {m.address for m in members}
        wait_until(lambda: self.backends(proxy) == want and self.backends(proxy, "up") == want, 15,
                   f"{what}: backends {sorted(want)}")

    @staticmethod
    def applied(proxy, text):
        """A frontend_applied line of a discovery update containing `text`."""
        return [line for line in proxy.process.stderr().splitlines()
                if "frontend_applied frontend=api cause=discovery" in line and text in line]

    def state_file(self):
        return set(json.loads(self.state.read_text())["backends"])

    def test_members_added_and_removed_reach_the_backend_set_and_empty_list_is_ignored(self):
        s1, s2, s3 = self.apiservers
        self.set_members([s1, s2])
        proxy = self.start_proxy(seed=s1)
        self.wait_backends(proxy, [s1, s2], "learned from the list")
        self.set_members([s1, s2, s3])
        self.wait_backends(proxy, [s1, s2, s3], "member added (watch)")
        # A learned set goes through the frontend's apply, which adds only the new member.
        wait_until(lambda: self.applied(proxy, f'rebuilt=backends changes="backends +{s3.address}"'), 5,
                   "the discovery apply adding s3 alone")
        self.set_members([s2, s3])
        self.wait_backends(proxy, [s2, s3], "member removed (watch)")
        wait_until(lambda: self.applied(proxy, 'rebuilt=backends changes="backends -seed"'), 5,
                   "the discovery apply draining the seed (s1) alone")
        wait_until(lambda: self.state_file() == {s2.address, s3.address}, 5, "the state file follows")
        self.assertFalse(self.state.with_suffix(".json.tmp").exists())
        # Traffic still goes through, to the remaining members only.
        r = proxy.backends()
        self.assertEqual({b["name"] for b in r["frontends"][0]["backends"]}, {s2.address, s3.address})

        # An empty list is a broken API, not a cluster without apiservers: keep the set.
        self.set_members([])
        wait_until(lambda: "discovery_empty" in proxy.process.stderr(), 10, "the empty list to be seen")
        self.assertEqual(self.backends(proxy, "up"), {s2.address, s3.address})
        self.assertEqual(self.state_file(), {s2.address, s3.address})
        self.set_members([s1, s3])
        self.wait_backends(proxy, [s1, s3], "a set after the empty list")
        self.assertEqual(proxy.metrics("kha_daemon_reloads_total", {"result": "failed"}) or 0, 0)

    def test_api_outage_keeps_the_set_and_restart_starts_from_the_state_file(self):
        s1, s2, s3 = self.apiservers
        self.set_members([s1, s2, s3])
        proxy = self.start_proxy(seed=s1)
        self.wait_backends(proxy, [s1, s2, s3], "learned")
        wait_until(lambda: self.state_file() == {s.address for s in (s1, s2, s3)}, 5, "state file written")

        # Outage: every apiserver refuses. kha keeps all three (down), never drops to zero.
        for s in self.apiservers:
            s.set_mode("refuse")
        wait_until(lambda: self.backends(proxy, "up") == set(), 10, "all down")
        wait_until(lambda: "discovery_failed" in proxy.process.stderr(), 10, "discovery to fail")
        self.assertEqual(self.backends(proxy), {s.address for s in (s1, s2, s3)})
        for s in self.apiservers:
            s.set_mode("normal")
        self.wait_backends(proxy, [s1, s2, s3], "back after the outage")
        self.assertEqual(proxy.stop(), 0)

        # Restart while the API answers errors (a broken endpoints file: every list is a 500):
        # the seed alone is configured, the state file brings back all three.
        self.endpoints.write_text("{broken")
        proxy = self.start_proxy(seed=s1)
        self.wait_backends(proxy, [s1, s2, s3], "started from the state file")
        self.assertIn("discovery_state_loaded", proxy.process.stderr())
        wait_until(lambda: "discovery_failed" in proxy.process.stderr(), 10, "the list to fail")
        self.assertEqual(self.backends(proxy), {s.address for s in (s1, s2, s3)})
        self.set_members([s2])
        self.wait_backends(proxy, [s2], "learned again once the API answers")

    def test_corrupt_state_file_is_reported_and_ignored(self):
        s1, s2, _ = self.apiservers
        self.state.write_text('{"frontend": "api", "backends": ["not an address"')
        self.set_members([s1, s2])
        proxy = self.start_proxy(seed=s1)
        err = proxy.process.stderr()
        self.assertIn("discovery_state_ignored", err)
        self.assertIn(str(self.state), err)
        self.wait_backends(proxy, [s1, s2], "learned despite the corrupt state file")
        wait_until(lambda: self.state_file() == {s1.address, s2.address}, 5, "the state file rewritten")

    def test_reload_keeps_learned_backends_and_restarts_discovery_on_its_settings(self):
        s1, s2, s3 = self.apiservers
        self.set_members([s1, s2, s3])
        proxy = self.start_proxy(seed=s1)
        self.wait_backends(proxy, [s1, s2, s3], "learned")
        text = CONFIG.format(kubeconfig=self.kubeconfig, state=self.state, seed=s1.address)
        # A health setting only: the checkers restart, the learned set and the discovery stay.
        proxy.reload(text.replace("fall: 3", "fall: 4"))
        wait_until(lambda: proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}) == 1, 10, "the first reload")
        reloads = [line for line in proxy.process.stderr().splitlines()
                   if "frontend_applied" in line and "cause=reload" in line]
        self.assertEqual(len(reloads), 1, reloads)
        self.assertIn("rebuilt=checkers ", reloads[0])
        self.assertEqual(self.backends(proxy), {s.address for s in (s1, s2, s3)})
        self.assertEqual(proxy.process.stderr().count("discovery_started"), 1)
        # A discovery setting: the discovery restarts, the learned set is kept meanwhile.
        proxy.reload(text.replace("fall: 3", "fall: 4").replace("retry: 200ms", "retry: 300ms"))
        wait_until(lambda: proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}) == 2, 10, "the second reload")
        wait_until(lambda: proxy.process.stderr().count("discovery_started") == 2, 5, "the discovery restarted")
        self.assertIn("rebuilt=discovery ", proxy.process.stderr())
        self.assertEqual(self.backends(proxy), {s.address for s in (s1, s2, s3)})
        self.set_members([s2, s3])
        self.wait_backends(proxy, [s2, s3], "the restarted discovery learning a change")


if __name__ == "__main__":
    unittest.main()
