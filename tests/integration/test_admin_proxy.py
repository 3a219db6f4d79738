"""The admin endpoint of a running `kha proxy` in front of three stand-in apiservers
(https /readyz checks verified against a CA made here): /healthz, /readyz (200 while
a backend is up, 503 naming the frontend when none is, while traffic is still tried),
/backends, /metrics and `kha status` against the real daemon.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from support import faults, harness, web

FE = "apiserver"


def soft_open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        return next(int(line.split()[3]) for line in f if line.startswith("Max open files"))


class AdminOfARunningProxy(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="kha-admin-proxy-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.pki = harness.make_ca(tmp)
        self.standins = harness.start_standins(3, pki=self.pki, owner=self)
        self.proxy = harness.start_kha_proxy(config_text=faults.apiserver_config(self.standins, self.pki.ca),
                                             owner=self)
        self.wait_up(3)
        # The harness's own TCP check of the listener may still be settling: wait for the
        # session counters to stand still before tests take their baselines.
        harness.wait_until(self.quiet, 10, "the session counters to settle")

    def quiet(self):
        def read():
            m = self.proxy.metrics_text()
            return (harness.metric_sum(m, "kha_proxy_sessions_total", {"frontend": FE}),
                    harness.metric_sum(m, "kha_proxy_active_sessions", {"frontend": FE}))
        first = read()
        time.sleep(0.2)  # two reads 200 ms apart, inside a bounded wait_until
        return first == read() and first[1] == 0

    def wait_up(self, n):
        harness.wait_until(lambda: self.proxy.metrics_sum("kha_pool_backend_up", {"frontend": FE}) == n, 15,
                           f"{n} backends up")

    def status(self, *args):
        return subprocess.run([harness.kha_bin(), "status", "--admin", f"127.0.0.1:{self.proxy.admin_port}", *args],
                              capture_output=True, text=True, timeout=30)

    def client_get(self):
        r = harness.https_get(self.proxy.url("/version"), ca=self.pki.ca, timeout=5)
        self.assertEqual(r.status, 200)
        return r.identity

    def test_healthz_and_readyz_while_up(self):
        self.assertEqual(self.proxy.admin("/healthz").status, 200)
        r = self.proxy.admin("/readyz")
        self.assertEqual((r.status, r.body.strip()), (200, "ok"))
        # One backend red is not enough to make the proxy unready.
        self.standins[0].set_ready(False)
        self.wait_up(2)
        self.assertEqual(self.proxy.admin("/readyz").status, 200)

    def test_every_backend_down_is_503_naming_the_frontend_and_traffic_is_still_tried(self):
        for s in self.standins:
            s.set_ready(False)
        self.wait_up(0)
        r = self.proxy.admin("/readyz")
        self.assertEqual(r.status, 503, r.body)
        self.assertIn("frontend apiserver: no backend is up (3 configured)", r.body)
        self.assertEqual(self.proxy.metrics("kha_pool_all_down", {"frontend": FE}), 1)
        self.assertEqual(self.proxy.admin("/healthz").status, 200, "the process still serves")

        # Every backend is down by its checks, yet they still answer: kha tries them all.
        seen = {self.client_get() for _ in range(9)}
        self.assertEqual(seen, {s.name for s in self.standins})
        self.assertIn("all_backends_down frontend=apiserver", self.proxy.process.stderr())

        doc = self.proxy.backends()
        self.assertTrue(doc["frontends"][0]["all_down"])
        r = self.status()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("frontend apiserver: every backend is down; connections try all of them", r.stdout)
        for s in self.standins:
            row = next(line for line in r.stdout.splitlines() if f" {s.name} " in line)
            self.assertEqual(row.split()[:5], [FE, s.name, s.address, "down", "https"], row)

        # One comes back: ready again, and only that one gets clients.
        self.standins[1].set_ready(True)
        self.wait_up(1)
        self.assertEqual(self.proxy.admin("/readyz").status, 200)
        self.assertEqual({self.client_get() for _ in range(6)}, {self.standins[1].name})

    def test_backends_document_and_kha_status_table(self):
        self.standins[2].set_ready(False)
        self.wait_up(2)
        before = {b["name"]: b["sessions_total"] for b in self.proxy.backends()["frontends"][0]["backends"]}
        for _ in range(6):
            self.client_get()
        watch = harness.Watch(self.proxy.url("/api/v1/namespaces/default/pods?watch=true"), ca=self.pki.ca)
        self.addCleanup(watch.close)
        harness.wait_until(lambda: watch.count() >= 1, 10, "a watch event")

        doc = self.proxy.backends()
        self.assertEqual(len(doc["frontends"]), 1)
        fe = doc["frontends"][0]
        self.assertEqual(fe["name"], FE)
        self.assertEqual(fe["listen"], [self.proxy.address])
        self.assertFalse(fe["all_down"])
        by_name = {b["name"]: b for b in fe["backends"]}
        self.assertEqual(sorted(by_name), sorted(s.name for s in self.standins))
        for s in self.standins:
            b = by_name[s.name]
            self.assertEqual(set(b), {"name", "address", "state", "check", "last_check", "active_sessions",
                                      "sessions_total", "connect_failures", "mean_session_age_s", "slow_start_share",
                                      "bytes_per_s", "session_ages"})
            self.assertEqual(list(b["session_ages"]), ["0-1m", "1m-10m", "10m-1h", "1h-6h", "6h+"])
            self.assertEqual(sum(b["session_ages"].values()), b["active_sessions"])
            self.assertEqual((b["address"], b["check"]), (s.address, "https"))
            self.assertEqual(set(b["last_check"]), {"ok", "layer", "reason", "latency_ms", "age_ms"})
            self.assertGreaterEqual(b["last_check"]["latency_ms"], 0)
            self.assertGreaterEqual(b["last_check"]["age_ms"], 0)
        red = by_name[self.standins[2].name]
        self.assertEqual(red["state"], "down")
        self.assertFalse(red["last_check"]["ok"])
        self.assertIn("500", red["last_check"]["reason"])
        ups = [by_name[s.name] for s in self.standins[:2]]
        self.assertEqual([b["state"] for b in ups], ["up", "up"])
        self.assertTrue(all(b["last_check"]["ok"] for b in ups))
        # six requests and the watch (the harness's own TCP check of the listener came before)
        self.assertEqual(sum(b["sessions_total"] - before[b["name"]] for b in ups), 7)
        self.assertEqual(sum(b["active_sessions"] for b in ups), 1)
        self.assertEqual(by_name[watch.identity]["active_sessions"], 1)
        self.assertEqual(red["sessions_total"], before[red["name"]])

        r = self.status()
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[:5], ["FRONTEND", "BACKEND", "ADDRESS", "STATE", "CHECK"])
        rows = {line.split()[1]: line.split() for line in lines[1:4]}
        self.assertEqual(sorted(rows), sorted(s.name for s in self.standins))
        self.assertEqual(rows[self.standins[2].name][3], "down")
        self.assertEqual(rows[self.standins[0].name][3], "up")
        self.assertEqual(len(lines), 4, "no footer while a backend is up")
        r = self.status("-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([b["name"] for b in json.loads(r.stdout)["frontends"][0]["backends"]],
                         [s.name for s in self.standins])

    def test_metrics_of_the_daemon(self):
        before = self.proxy.metrics_sum("kha_proxy_sessions_total", {"frontend": FE})
        for _ in range(6):
            self.client_get()
        m = self.proxy.metrics_text()
        for s in self.standins:
            lab = {"frontend": FE, "backend": s.name}
            self.assertEqual(harness.metric_value(m, "kha_pool_backend_up", lab), 1)
            self.assertEqual(harness.metric_value(m, "kha_health_transitions_total", {**lab, "to": "up"}), 1)
            self.assertGreaterEqual(harness.metric_value(m, "kha_health_checks_total", {**lab, "outcome": "ok"}), 1)
            self.assertGreater(harness.metric_value(m, "kha_proxy_bytes_total", {**lab, "direction": "downstream"}), 0)
            self.assertGreater(harness.metric_value(m, "kha_proxy_connect_seconds_count", lab), 0)
        self.assertEqual(harness.metric_sum(m, "kha_proxy_sessions_total", {"frontend": FE}) - before, 6)
        self.assertEqual(harness.metric_value(m, "kha_pool_all_down", {"frontend": FE}), 0)

    def test_process_build_and_zero_initialised_series(self):
        m = self.proxy.metrics_text()
        self.assertEqual(harness.metric_value(m, "kha_build_info", {}), 1)
        version = subprocess.run([harness.kha_bin(), "--version"], capture_output=True, text=True).stdout.split()[-1]
        self.assertEqual(harness.metric_value(m, "kha_build_info", {"version": version}), 1)
        self.assertEqual(harness.metric_value(m, "kha_config_last_reload_successful"), 1)
        self.assertEqual(harness.metric_value(m, "kha_daemon_reloads_total", {"result": "failed"}), 0)
        self.assertEqual(harness.metric_value(m, "kha_proxy_accept_failures_total"), 0)
        for s in self.standins:  # events that have not happened yet, exported at 0
            lab = {"frontend": FE, "backend": s.name}
            self.assertEqual(harness.metric_value(m, "kha_health_transitions_total", {**lab, "to": "down"}), 0)
            self.assertEqual(harness.metric_value(m, "kha_health_checks_total", {**lab, "outcome": "timeout"}), 0)
            self.assertEqual(harness.metric_value(m, "kha_proxy_sessions_closed_on_down_total", lab), 0)
        # process_*: the real process, read from /proc/<pid> here too.
        pid = self.proxy.pid
        # Within a few: the scrape's own connection and a probe's may come and go in between.
        self.assertAlmostEqual(harness.metric_value(m, "process_open_fds"), len(os.listdir(f"/proc/{pid}/fd")),
                               delta=4)
        soft = soft_open_files_limit(pid)
        self.assertEqual(harness.metric_value(m, "process_max_fds"), soft)
        self.assertGreater(harness.metric_value(m, "process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(harness.metric_value(m, "process_virtual_memory_bytes"),
                           harness.metric_value(m, "process_resident_memory_bytes"))
        started = harness.metric_value(m, "process_start_time_seconds")
        self.assertLess(abs(started - os.stat(f"/proc/{pid}").st_mtime), 60)
        self.assertLessEqual(started, time.time())
        cpu = harness.metric_value(m, "process_cpu_seconds_total")
        self.assertGreaterEqual(cpu, 0)

        # Clients that connect and stay hold descriptors: the gauge follows.
        fds = harness.metric_value(m, "process_open_fds")
        clients = faults.open_stalled_clients(self, self.proxy.listen_port, 20)
        harness.wait_until(lambda: self.proxy.metrics("process_open_fds") >= fds + 20, 10,
                           "open fds to rise with 20 clients")
        for c in clients:
            c.close()
        harness.wait_until(lambda: self.proxy.metrics("process_open_fds") <= fds + 2, 10,
                           "open fds to fall back when the clients leave")
        self.assertGreaterEqual(self.proxy.metrics("process_cpu_seconds_total"), cpu)

    @unittest.skipIf(os.environ.get("KHA_SANITIZED") == "1",
                     "UBSan's vptr check opens a pipe to read memory: with no descriptor left it reports "
                     "every shared_ptr release as a bad type (a false positive that kills the process)")
    def test_accept_failures_are_counted(self):
        # The descriptor table fills after start (the session cap was sized for the old limit):
        # accept() fails with EMFILE, the listener pauses, and the failure is counted.
        pid = self.proxy.pid
        soft = soft_open_files_limit(pid)
        self.addCleanup(subprocess.run, ["prlimit", "--pid", str(pid), f"--nofile={soft}:"], check=False)
        used = len(os.listdir(f"/proc/{pid}/fd"))
        subprocess.run(["prlimit", "--pid", str(pid), f"--nofile={used + 4}:"], check=True)
        self.assertEqual(self.proxy.metrics("process_max_fds"), used + 4)
        # More than the headroom, whatever probe connections were open when `used` was read.
        # They send nothing: kha waits for a client's first bytes before it dials a backend,
        # so each holds one descriptor and an accept() past the headroom fails. (A client that
        # sent bytes would make kha dial: the upstream socket() fails first, kha closes that
        # client and accept() never sees a full table.) Silent clients reach accept() only when
        # the kernel's TCP_DEFER_ACCEPT (client_first) gives them up, after one or more
        # SYN-ACK retransmits: hence the long deadline.
        # Once (CI, 2 cores, two tests at a time) the table filled and no later client reached
        # accept() within 40 s; the cause is not known. A new round of silent clients then
        # gives the kernel new ones to hand over, and a failure shows the listeners' queues.
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        seen = lambda: "accept_failed" in self.proxy.process.stderr()  # noqa: E731
        for _ in range(3):
            for _ in range(40):
                clients.append(socket.create_connection(("127.0.0.1", self.proxy.listen_port), timeout=5))
            try:
                harness.wait_until(seen, 20, "accept_failed logged")
                break
            except AssertionError:
                pass
        if not seen():
            queues = subprocess.run(["ss", "-ltnp", f"sport = :{self.proxy.listen_port}"], capture_output=True,
                                    text=True, check=False).stdout if shutil.which("ss") else "(no ss)"
            self.fail(f"no accept_failed after 3 rounds of 40 silent clients; descriptors {used} -> "
                      f"{len(os.listdir(f'/proc/{pid}/fd'))}; listeners:\n{queues}\n"
                      f"kha's log ends:\n{self.proxy.process.stderr()[-2500:]}")
        subprocess.run(["prlimit", "--pid", str(pid), f"--nofile={soft}:"], check=True)
        self.assertGreaterEqual(self.proxy.metrics("kha_proxy_accept_failures_total"), 1)
        for c in clients:
            c.close()


class MetricsListen(unittest.TestCase):
    """admin.metrics_listen: a second listener for a scraper off the node, serving only
    GET /metrics and /healthz; the admin actions stay on admin.listen."""

    def setUp(self):
        faults.metrics_listen_setup(self, "kha-metrics-listen-")

    def call(self, path, method="GET", **kw):
        return web.request(f"http://127.0.0.1:{self.port}{path}", method=method, **kw)

    def test_serves_metrics_and_healthz_only(self):
        r = self.call("/metrics")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        for s in self.standins:
            self.assertEqual(harness.metric_value(r.body, "kha_pool_backend_up", {"frontend": FE, "backend": s.name}), 1)
        self.assertGreater(harness.metric_value(r.body, "process_open_fds"), 0)
        self.assertEqual(self.call("/healthz").status, 200)
        self.assertEqual(self.call("/metrics", method="HEAD").status, 200)
        for path in ("/readyz", "/backends", "/reload", "/", "/metrics/x"):
            self.assertEqual(self.call(path).status, 404, path)
        # No admin action: POST /reload is not a route here (404), nothing is reloaded.
        r = self.call("/reload", method="POST", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 404, r.body)
        self.assertEqual(self.call("/metrics", method="POST").status, 405)
        self.assertEqual(self.proxy.metrics_sum("kha_daemon_reloads_total"), 0)
        self.assertNotIn("reload", self.proxy.process.stderr())
        # The full admin endpoint is unchanged beside it.
        self.assertEqual(self.proxy.admin("/readyz").status, 200)

    def test_reload_keeps_the_running_address(self):
        moved = harness.free_port()
        self.proxy.reload(self.config.replace(f"metrics_listen: 127.0.0.1:{self.port}",
                                              f"metrics_listen: 127.0.0.1:{moved}"))
        harness.wait_until(lambda: self.proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}) == 1, 10,
                           "the reload")
        self.assertIn("reload_needs_restart key=admin.metrics_listen", self.proxy.process.stderr())
        self.assertEqual(self.call("/metrics").status, 200)
        self.assertFalse(harness.is_listening(moved))


if __name__ == "__main__":
    unittest.main()
