"""The shared test helpers in tests/support/ themselves: waiting, Prometheus parsing,
bounded load, the openssl-made PKI, and start_kha_proxy against the real kha proxy
in front of stand-in apiservers (kube-apiserver is not packaged)."""

import subprocess
import tempfile
import time
import unittest

from support import harness as h

METRICS = '''# HELP kha_backend_up Whether the backend is in rotation.
# TYPE kha_backend_up gauge
kha_backend_up{frontend="apiserver",backend="cp1"} 1
kha_backend_up{frontend="apiserver",backend="cp2"} 0
kha_sessions_total{frontend="apiserver",backend="cp1",note="a \\"quoted\\" value"} 12 1700000000000
kha_build_info 1
'''


class HelperTest(unittest.TestCase):
    def test_wait_until_returns_value_or_names_what_it_waited_for(self):
        self.assertEqual(h.wait_until(lambda: 42, 1, "answer"), 42)
        with self.assertRaises(AssertionError) as e:
            h.wait_until(lambda: 1 / 0, 0.2, "the impossible")
        self.assertIn("waiting for the impossible", str(e.exception))
        self.assertIn("ZeroDivisionError", str(e.exception))

    def test_prometheus_reader(self):
        self.assertEqual(h.metric_value(METRICS, "kha_backend_up", {"backend": "cp2"}), 0.0)
        self.assertEqual(h.metric_value(METRICS, "kha_build_info"), 1.0)
        self.assertIsNone(h.metric_value(METRICS, "kha_backend_up", {"backend": "cp9"}))
        self.assertEqual(h.metric_sum(METRICS, "kha_backend_up"), 1.0)
        with self.assertRaises(ValueError):
            h.metric_value(METRICS, "kha_backend_up")  # two match
        samples = h.parse_prometheus(METRICS)
        self.assertEqual(samples[2][1]["note"], 'a "quoted" value')
        self.assertEqual(samples[2][2], 12.0)

    def test_load_loop_stops_at_count_or_time(self):
        by_count = h.run_load(lambda: "x", count=50, duration=10)
        self.assertEqual((by_count.attempts, by_count.ok), (50, 50))
        start = time.monotonic()
        by_time = h.run_load(lambda: time.sleep(0.01), count=10**9, duration=0.3, workers=2)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertGreater(by_time.ok, 0)

        def fail():
            raise TimeoutError("slow")
        failing = h.run_load(fail, count=3, duration=5)
        self.assertEqual((failing.ok, failing.hung, len(failing.failures)), (0, 3, 3))
        self.assertIn("3 failed (3 timed out)", failing.summary())

    def test_make_ca_chain_verifies_with_openssl(self):
        with tempfile.TemporaryDirectory() as d:
            pki = h.make_ca(d)
            for cert in (pki.server_cert, pki.client_cert):
                r = subprocess.run(["openssl", "verify", "-CAfile", pki.ca, cert], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
            text = subprocess.run(["openssl", "x509", "-in", pki.server_cert, "-noout", "-ext", "subjectAltName"],
                                  capture_output=True, text=True).stdout
            self.assertIn("IP Address:127.0.0.1", text)
            self.assertIn("IP Address:0:0:0:0:0:0:0:1", text)
            self.assertIn("DNS:localhost", text)

    def test_process_exit_is_checked(self):
        p = h.start_process(["sh", "-c", "echo ready; trap 'exit 3' TERM; while :; do sleep 0.05; done"])
        self.assertEqual(p.wait_for_line("ready"), "ready")
        with self.assertRaises(AssertionError) as e:
            p.stop_checked()
        self.assertIn("exited with 3", str(e.exception))


class ProxyHarnessTest(unittest.TestCase):
    """start_kha_proxy() with the real proxy; skipped while `kha proxy` is not built."""

    def test_start_kha_proxy_flag_form(self):
        probe = subprocess.run([h.kha_bin(), "proxy", "--help"], capture_output=True, text=True, timeout=10)
        if "--backend" not in probe.stdout:
            self.skipTest("kha proxy is not built yet")
        standins = h.start_standins(2, owner=self)
        proxy = h.start_kha_proxy(standins, health_check="https", owner=self)
        self.assertTrue(h.is_listening(proxy.listen_port))

        def both_answer():
            seen = h.run_load(lambda: h.https_get(proxy.url("/version"), insecure=True, timeout=3).identity,
                              count=10, duration=10)
            return seen.ok == 10 and set(seen.identities) == {"apiserver-1", "apiserver-2"} and seen
        h.wait_until(both_answer, 20, "both stand-ins to answer through kha proxy")
        # The metrics reader against the real admin server: both backends up, sessions counted.
        self.assertEqual(proxy.metrics_sum("kha_pool_backend_up"), 2.0, proxy.metrics_text()[:2000])
        for s in standins:  # flag-form backends are named by their address
            self.assertGreater(proxy.metrics("kha_proxy_sessions_total", {"backend": s.address}), 0)
        self.assertEqual(len(proxy.backends()["frontends"][0]["backends"]), 2)


if __name__ == "__main__":
    unittest.main()
