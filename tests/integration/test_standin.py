"""kha standin, the stand-in kube-apiserver the demo and the proxy tests rely on
(kube-apiserver is not packaged): every endpoint and mode, with real clients (curl,
kubectl) over TLS and plain HTTP."""

import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from support import tools
from support import harness as h

CURL_TIMEOUT = 20


def curl(*args, timeout=CURL_TIMEOUT):
    """Runs curl; returns (exit code, stdout)."""
    r = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout


def kubectl(server, *args, ca=None, timeout=30):
    """Runs the real kubectl against server. A token is passed only so that kubectl
    does not prompt for a username (it has no kubeconfig here); the stand-in ignores it."""
    tools.require("kubectl")
    tls = ["--certificate-authority", ca] if ca else ["--insecure-skip-tls-verify"]
    if server.startswith("http://"):
        tls = []
    cmd = ["kubectl", "--kubeconfig", os.devnull, "--server", server, "--token", "standin-test", *tls, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def tls_handshake(port, timeout):
    """Completes a TLS handshake with 127.0.0.1:port within timeout, or raises."""
    ctx = h.tls_context(insecure=True)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
            return True


class TlsStandinTest(unittest.TestCase):
    """A TLS stand-in with a certificate from a test CA."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="kha-standin-test-")
        cls.pki = h.make_ca(cls.dir.name)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def setUp(self):
        self.s = h.start_standin("cp1", pki=self.pki, watch_interval="100ms", owner=self)

    def test_health_endpoints_answer_ok_with_identity(self):
        for path in ("/readyz", "/livez", "/healthz"):
            code, out = curl("-i", "--cacert", self.pki.ca, f"https://127.0.0.1:{self.s.port}{path}")
            self.assertEqual(code, 0, path)
            self.assertIn("HTTP/1.1 200", out)
            self.assertIn("X-Standin-Identity: cp1", out)
            self.assertTrue(out.endswith("\n\nok"), out)  # curl output read as text: \r\n -> \n

    def test_certificate_verifies_by_name_and_ip(self):
        for host in ("127.0.0.1", "localhost"):
            r = h.https_get(f"https://{host}:{self.s.port}/version", ca=self.pki.ca)
            self.assertEqual(r.identity, "cp1")
        with self.assertRaises(ssl.SSLError):
            h.https_get(f"https://127.0.0.1:{self.s.port}/version", ca=None)  # system store: not trusted

    def test_readyz_turns_red_and_back(self):
        self.s.set_ready(False)
        code, out = curl("-i", "--cacert", self.pki.ca, f"https://127.0.0.1:{self.s.port}/readyz")
        self.assertEqual(code, 0)
        self.assertIn("HTTP/1.1 500", out)
        self.assertIn("[-]shutdown failed: reason withheld", out)
        self.assertIn("readyz check failed", out)
        self.assertEqual(self.s.get("/livez").status, 200, "livez stays green while shutting down")
        self.s.set_ready(True)
        self.assertEqual(self.s.get("/readyz").body, "ok")
        verbose = self.s.get("/readyz?verbose")
        self.assertIn("[+]shutdown ok", verbose.body)

    def test_kubectl_get_raw_version(self):
        for ca in (None, self.pki.ca):
            code, out, err = kubectl(f"https://127.0.0.1:{self.s.port}", "get", "--raw", "/version", ca=ca)
            self.assertEqual(code, 0, err)
            doc = json.loads(out)
            self.assertEqual(doc["identity"], "cp1")
            self.assertTrue(doc["gitVersion"].startswith("v1."))
            self.assertEqual(doc["major"], "1")

    def test_kubectl_reports_not_found_as_kube_status(self):
        code, _, err = kubectl(f"https://127.0.0.1:{self.s.port}", "get", "--raw", "/no/such/thing")
        self.assertNotEqual(code, 0)
        self.assertIn("NotFound", err)
        r = self.s.get("/no/such/thing")
        self.assertEqual(r.status, 404)
        self.assertEqual(json.loads(r.body)["kind"], "Status")

    def test_watch_streams_events_until_client_leaves(self):
        w = h.Watch(self.s.url("/api/v1/namespaces/default/pods?watch=true"), insecure=True)
        self.addCleanup(w.close)
        self.assertEqual(w.status, 200)
        self.assertEqual(w.identity, "cp1")
        h.wait_until(lambda: w.count() >= 3, 5, "three watch events")
        events = [json.loads(line) for line in w.lines()[:3]]
        self.assertEqual([e["type"] for e in events], ["ADDED", "MODIFIED", "MODIFIED"])
        self.assertTrue(all(e["identity"] == "cp1" for e in events))
        self.assertEqual(events[0]["object"]["metadata"]["labels"]["kha.io/standin-identity"], "cp1")
        self.assertEqual(h.wait_until(lambda: self.s.state()["live"] == 1, 5, "one live connection"), True)
        w.close()
        h.wait_until(lambda: self.s.state()["live"] == 0, 5, "the stand-in to notice the client left")

    def test_kubectl_raw_watch_and_timeout_seconds(self):
        code, out, err = kubectl(f"https://127.0.0.1:{self.s.port}", "get", "--raw",
                                 "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1")
        self.assertEqual(code, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertGreaterEqual(len(lines), 3)  # one at once, then one per 100ms for 1s
        self.assertTrue(all(e["identity"] == "cp1" for e in lines))
        code, out = curl("-N", "--cacert", self.pki.ca,
                         f"https://127.0.0.1:{self.s.port}/api/v1/pods?watch=1&timeoutSeconds=1")
        self.assertEqual(code, 0, "a watch that times out ends the chunked body cleanly")
        self.assertIn('"identity":"cp1"', out)

    def test_hang_mode_accepts_but_never_completes_tls(self):
        self.s.set_mode("hang")
        held = socket.create_connection(("127.0.0.1", self.s.port), timeout=2)  # the kernel accepts
        self.addCleanup(held.close)
        with self.assertRaises((TimeoutError, socket.timeout)):
            tls_handshake(self.s.port, timeout=0.5)
        code, _ = curl("-k", "--max-time", "1", f"https://127.0.0.1:{self.s.port}/readyz")
        self.assertEqual(code, 28, "curl times out against a hung stand-in")
        self.assertEqual(self.s.state()["mode"], "hang")
        self.s.set_mode("normal")
        ctx = h.tls_context(insecure=True)
        with ctx.wrap_socket(held, server_hostname="127.0.0.1") as t:  # the held connection is served now
            t.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertIn(b"ok", t.recv(4096) + t.recv(4096))
        self.assertEqual(self.s.get("/readyz").status, 200)

    def test_hang_mode_freezes_open_watches(self):
        w = h.Watch(self.s.url("/api/v1/pods?watch=true"), insecure=True)
        self.addCleanup(w.close)
        h.wait_until(lambda: w.count() >= 2, 5, "watch events")
        self.s.set_mode("hang")
        frozen = w.count()
        time.sleep(0.8)  # eight watch intervals: absence of events needs a window, not a condition
        self.assertLessEqual(w.count(), frozen + 1, "no watch event while hung (one may be on the wire)")
        self.s.set_mode("normal")
        h.wait_until(lambda: w.count() > frozen, 5, "watch events again after hang")

    def test_reset_mode_sends_rst_to_new_and_open_connections(self):
        w = h.Watch(self.s.url("/api/v1/pods?watch=true"), insecure=True, read_timeout=10)
        self.addCleanup(w.close)
        h.wait_until(lambda: w.count() >= 1, 5, "a watch event")
        self.s.set_mode("reset")
        h.wait_until(w.ended, 5, "the open watch to be reset")  # RST itself: see the plain test
        with self.assertRaises(ConnectionResetError):  # on loopback connect() itself may see the RST
            with socket.create_connection(("127.0.0.1", self.s.port), timeout=2) as c:
                c.sendall(b"\x16\x03\x01")
                if not c.recv(1):
                    raise AssertionError("got FIN, expected RST")
        code, _ = curl("-k", "--max-time", "2", f"https://127.0.0.1:{self.s.port}/readyz")
        self.assertIn(code, (7, 35, 56), "curl sees the connection reset")
        self.s.set_mode("normal")
        self.assertEqual(self.s.get("/readyz").status, 200)

    def test_refuse_mode_closes_and_reopens_the_listener(self):
        self.s.set_mode("refuse")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.s.port), timeout=2).close()
        self.s.set_mode("normal")
        h.wait_until(lambda: h.tcp_connects("127.0.0.1", self.s.port), 5, "the listener to reopen")
        self.assertEqual(self.s.get("/readyz").identity, "cp1")

    def test_sigstop_hangs_sigcont_resumes(self):
        self.s.hang()
        try:
            with socket.create_connection(("127.0.0.1", self.s.port), timeout=2):
                pass  # the kernel completes the TCP handshake of a stopped process
            with self.assertRaises((TimeoutError, socket.timeout)):
                tls_handshake(self.s.port, timeout=0.5)
        finally:
            self.s.resume()
        self.assertEqual(self.s.get("/readyz").status, 200)

    def test_sigkill_refuses_and_sigterm_exits_zero(self):
        other = h.start_standin("cp2", owner=self)
        self.assertEqual(other.stop(), 0, "SIGTERM exits 0")
        self.assertIn("standin_stopped", other.process.stderr())
        self.s.kill()
        self.assertFalse(h.tcp_connects("127.0.0.1", self.s.port))

    def test_control_rejects_bad_values(self):
        for path in ("/_standin/readyz?status=404", "/_standin/mode?m=sleepy", "/_standin/mode?m=%ff%fe"):
            r = h.request(f"http://127.0.0.1:{self.s.control_port}{path}", method="POST")
            self.assertEqual(r.status, 400, path)
        r = h.request(f"http://127.0.0.1:{self.s.control_port}/_standin/mode?m=hang", method="GET")
        self.assertEqual(r.status, 405)

    def test_client_ca_requires_a_client_certificate(self):
        s = h.start_standin("authn", pki=self.pki, client_ca=self.pki.ca, owner=self)
        url = f"https://127.0.0.1:{s.port}/readyz"
        code, out = curl("-i", "--cacert", self.pki.ca, url)
        self.assertEqual(code, 0)
        self.assertIn("HTTP/1.1 401", out)
        code, out = curl("--cacert", self.pki.ca, "--cert", self.pki.client_cert, "--key", self.pki.client_key, url)
        self.assertEqual((code, out), (0, "ok"))
        with tempfile.TemporaryDirectory() as d:
            stranger = h.make_ca(d)
            code, _ = curl("--cacert", self.pki.ca, "--cert", stranger.client_cert, "--key", stranger.client_key, url)
            self.assertNotEqual(code, 0, "a client certificate from another CA fails the handshake")
        self.assertEqual(s.get("/health", ca=self.pki.ca, cert=self.pki.client_cert, key=self.pki.client_key).body,
                         '{"health":"true","reason":""}')

    def test_keep_alive_reuses_one_connection(self):
        before = self.s.state()["connections"]
        code, out = curl("-k", "-w", "%{num_connects}\\n", *[f"https://127.0.0.1:{self.s.port}/livez"] * 3)
        self.assertEqual(code, 0)
        self.assertEqual(out.count("ok"), 3)
        self.assertEqual(self.s.state()["connections"] - before, 1, "three requests, one connection")

    def test_counts_full_and_resumed_handshakes_and_requests(self):
        """Resumption is offered (tickets, as kube-apiserver's Go TLS), and the state
        says what the clients cost: full vs resumed handshakes, data requests."""
        before = self.s.state()
        ctx = h.tls_context(insecure=True)
        session = None
        reused = []
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", self.s.port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
                    reused.append(tls.session_reused)
                    tls.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    reply = b""
                    while chunk := tls.recv(4096):
                        reply += chunk
                    self.assertIn(b" 200 ", reply.split(b"\r\n")[0])
                    session = tls.session
        self.assertEqual(reused, [False, True])
        after = self.s.state()
        self.assertEqual(after["handshakes_full"] - before["handshakes_full"], 1)
        self.assertEqual(after["handshakes_resumed"] - before["handshakes_resumed"], 1)
        self.assertEqual(after["data_requests"] - before["data_requests"], 2)


class PlainStandinTest(unittest.TestCase):
    """--plain: plain HTTP/1.1 for benchmarks, keep-alive included."""

    def setUp(self):
        self.s = h.start_standin("plain1", plain=True, owner=self)

    def test_endpoints_over_plain_http(self):
        code, out = curl("-i", f"http://127.0.0.1:{self.s.port}/readyz")
        self.assertEqual(code, 0)
        self.assertIn("X-Standin-Identity: plain1", out)
        code, out, err = kubectl(f"http://127.0.0.1:{self.s.port}", "get", "--raw", "/version")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["identity"], "plain1")

    def test_keep_alive_and_http10_close(self):
        with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as c:
            c.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"\r\n\r\nok") < 2:
                chunk = c.recv(4096)
                self.assertTrue(chunk, "connection closed before both answers")
                data += chunk
            c.sendall(b"GET /livez HTTP/1.0\r\n\r\n")
            rest = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                rest += chunk
            self.assertIn(b"Connection: close", rest, "HTTP/1.0 without keep-alive closes")

    def test_reset_mode_resets_open_watch(self):
        w = h.Watch(self.s.url("/api/v1/pods?watch=true"), read_timeout=10)
        self.addCleanup(w.close)
        h.wait_until(lambda: w.count() >= 1, 5, "a watch event")
        self.s.set_mode("reset")
        h.wait_until(w.ended, 5, "the open watch to be reset")
        self.assertIn("ConnectionResetError", w.end_reason)

    def test_bounded_load(self):
        result = h.run_load(lambda: self.s.get("/readyz").identity, count=200, duration=20)
        self.assertEqual(result.ok, 200, result.summary())
        self.assertEqual(result.identities["plain1"], 200)


class EndpointSliceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="kha-slices-")
        self.addCleanup(self.dir.cleanup)
        self.file = os.path.join(self.dir.name, "endpoints.json")
        self.write(["10.0.0.1:6443", "10.0.0.2:6443"])
        self.s = h.start_standin("disc", endpoints_file=self.file, watch_interval="100ms", owner=self)
        self.path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

    def write(self, endpoints):
        tmp = self.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(endpoints, f)
        os.replace(tmp, self.file)

    def addresses(self, slice_doc):
        return sorted(a for e in slice_doc["endpoints"] for a in e["addresses"])

    def test_list_and_watch_follow_the_file(self):
        code, out, err = kubectl(f"https://127.0.0.1:{self.s.port}", "get", "--raw",
                                 self.path + "?labelSelector=kubernetes.io/service-name=kubernetes")
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["kind"], "EndpointSliceList")
        self.assertEqual(self.addresses(doc["items"][0]), ["10.0.0.1", "10.0.0.2"])
        self.assertEqual(doc["items"][0]["ports"][0]["port"], 6443)
        w = h.Watch(self.s.url(self.path + "?watch=true"), insecure=True)
        self.addCleanup(w.close)
        h.wait_until(lambda: w.count() >= 1, 5, "the ADDED event")
        self.assertEqual(json.loads(w.lines()[0])["type"], "ADDED")
        self.write(["10.0.0.3:6443", "[fd00::1]:6443"])
        h.wait_until(lambda: w.count() >= 3, 5, "events for the edited file")
        events = [json.loads(line) for line in w.lines()[1:3]]
        by_type = {e["type"]: e["object"] for e in events}
        self.assertEqual(self.addresses(by_type["MODIFIED"]), ["10.0.0.3"])
        self.assertEqual(by_type["ADDED"]["addressType"], "IPv6")
        self.write(["10.0.0.3:6443"])
        h.wait_until(lambda: any(json.loads(x)["type"] == "DELETED" for x in w.lines()), 5, "a DELETED event")

    def test_bad_file_is_a_500_naming_it(self):
        with open(self.file, "w") as f:
            f.write('["10.0.0.1"]')
        r = self.s.get(self.path)
        self.assertEqual(r.status, 500)
        self.assertIn("endpoints.json", r.body)
        self.assertIn("[0]", r.body)


class CommandLineTest(unittest.TestCase):
    def run_kha(self, *args):
        return subprocess.run([h.kha_bin(), *args], capture_output=True, text=True, timeout=20)

    def test_hidden_from_help(self):
        self.assertNotIn("standin", self.run_kha("--help").stdout)
        self.assertIn("--watch-interval", self.run_kha("standin", "--help").stdout)

    def test_bad_flags_exit_2_and_say_why(self):
        cases = [(["--listen", "nowhere"], "--listen nowhere"), (["--mode", "sleepy"], "--mode sleepy"),
                 (["--watch-interval", "0s"], "--watch-interval"), (["--cert", "c.pem"], "--key"),
                 (["--name", ""], "--name"), (["--name", "a b"], "expected 1 to 63 letters")]
        for args, message in cases:
            r = self.run_kha("standin", *args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(message, r.stderr)

    def test_runtime_failures_exit_1(self):
        s = h.start_standin("busy", plain=True, owner=self)
        r = self.run_kha("standin", "--listen", f"127.0.0.1:{s.port}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Address already in use", r.stderr)
        r = self.run_kha("standin", "--cert", "/nonexistent.pem", "--key", "/nonexistent.key")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent.pem", r.stderr)

    def test_ipv6_listener(self):
        s = h.start_standin("six", host="::1", owner=self)
        code, out = curl("-gk", f"https://[::1]:{s.port}/readyz")
        self.assertEqual((code, out), (0, "ok"))


if __name__ == "__main__":
    unittest.main()
