"""A real 3-member etcd cluster (Debian etcd-server) behind a kha frontend.

kha passes the members' TLS through (L4) and checks each with https GET /health,
verified against the test CA. `etcdctl put` and `get` through kha run in a bounded
loop and must keep succeeding while one member is killed (then restarted) and another
is stopped with SIGSTOP (then resumed). Only one member is down at a time, so quorum
holds; the faulted members are followers, so no request waits on a leader election
(that is etcd's business, not the load balancer's).
"""

import shutil
import sys
import tempfile
import threading
import time
import unittest

from support import faults, harness
from support.etcd import EtcdCluster, etcd_bins

FE = "etcd"


@unittest.skipUnless(etcd_bins(), "etcd and etcdctl (Debian etcd-server, etcd-client) are not installed")
class EtcdThroughKha(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-etcd-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp + "/pki")
        self.cluster = EtcdCluster(tmp + "/data", self.pki, owner=self).start()
        self.proxy = harness.start_kha_proxy(
            config_text=faults.apiserver_config(self.cluster.members, self.pki.ca, name=FE, path="/health"),
            owner=self)
        self.wait_up(3)
        self.endpoint = f"https://127.0.0.1:{self.proxy.listen_port}"

    def up(self, m):
        return self.proxy.metrics("kha_pool_backend_up", {"frontend": FE, "backend": m.name})

    def wait_up(self, n):
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == n, 30,
                           f"{n} etcd members up in kha")

    def test_put_and_get_through_kha_survive_a_killed_and_a_stopped_member(self):
        lock = threading.Lock()
        stop = threading.Event()
        ok, failures = [], []

        def loop():
            deadline = time.monotonic() + 150
            for i in range(600):  # bounded in count and time
                if stop.is_set() or time.monotonic() > deadline:
                    return
                with lock:  # faults land between two operations
                    key, value = f"kha-test/{i}", f"value-{i}"
                    put = self.cluster.ctl([self.endpoint], "put", key, value)
                    get = self.cluster.ctl([self.endpoint], "get", key, "--print-value-only")
                    if put.returncode != 0 or put.stdout.strip() != "OK":
                        failures.append(f"put {key}: {put.returncode} {put.stdout.strip()} {put.stderr.strip()}")
                    elif get.returncode != 0 or get.stdout.strip() != value:
                        failures.append(f"get {key}: {get.returncode} {get.stdout.strip()!r} {get.stderr.strip()}")
                    else:
                        ok.append(time.monotonic())
        worker = threading.Thread(target=loop, daemon=True)
        worker.start()
        self.addCleanup(worker.join, 60)
        self.addCleanup(stop.set)

        def more(n, what):
            have = len(ok)
            harness.wait_until(lambda: len(ok) >= have + n or failures, 60, what)
            self.assertEqual(failures, [])

        more(5, "etcdctl to succeed through kha")
        leader = self.cluster.leader()
        killed = next(m for m in self.cluster.members if m is not leader)

        with lock:
            t_kill = time.monotonic()
            killed.process.kill()
        harness.wait_until(lambda: self.up(killed) == 0, 10, f"kha to mark {killed.name} down")
        down_kill = time.monotonic() - t_kill
        more(5, "puts and gets with one member dead")
        self.cluster.restart(killed)
        self.wait_up(3)
        more(5, "puts and gets after the member came back")

        leader = self.cluster.leader()
        stopped = next(m for m in self.cluster.members if m is not leader and m is not killed)
        with lock:
            t_stop = time.monotonic()
            stopped.process.hang()
        harness.wait_until(lambda: self.up(stopped) == 0, 10, f"kha to mark {stopped.name} down")
        down_stop = time.monotonic() - t_stop
        more(5, "puts and gets with one member stopped")
        served = self.proxy.metrics("kha_proxy_sessions_total", {"frontend": FE, "backend": killed.name})
        stopped.process.resume()
        self.wait_up(3)
        more(5, "puts and gets after the member resumed")
        stop.set()
        worker.join(60)

        self.assertEqual(failures, [])
        self.assertGreater(served, 0, f"the restarted {killed.name} took clients again")
        m = self.proxy.metrics_text()
        for member in (killed, stopped):
            lab = {"frontend": FE, "backend": member.name}
            self.assertGreaterEqual(harness.metric_value(m, "kha_health_transitions_total", {**lab, "to": "down"}), 1)
        # The stopped member was marked down by what saw it silent: clients' first bytes
        # unanswered (passive reports, usually first, since etcdctl keeps connecting) or a
        # probe that timed out. A refused connect is not what happened to it.
        lab = {"frontend": FE, "backend": stopped.name}
        silent = sum(harness.metric_value(m, "kha_health_checks_total", {**lab, "outcome": o}) or 0
                     for o in ("passive", "timeout"))
        self.assertGreaterEqual(silent, 1, [line for line in m.splitlines() if "kha_health_checks_total" in line])
        # Every key written is there, read straight from a member.
        r = self.cluster.ctl([self.cluster.members[0].client_url], "get", "kha-test/", "--prefix", "--keys-only")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len([k for k in r.stdout.splitlines() if k.strip()]), len(ok))
        print(f"MEASURED client=etcdctl operations={len(ok)} killed_down_after={down_kill:.3f} "
              f"stopped_down_after={down_stop:.3f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    unittest.main()
