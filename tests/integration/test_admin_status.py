"""kha status against an admin endpoint on loopback.

The /backends page here is served by a small Python stand-in for the daemon's admin
server (the agreed JSON shape), so that `kha status` is tested on its own: argument
handling, the table, -o json, and the errors when the endpoint is not there.
"""
import http.server
import json
import os
import socket
import subprocess
import threading
import unittest

import yaml

KHA = os.environ.get("KHA_BIN", "kha")

DOC = {"frontends": [
    {"name": "apiserver", "listen": ["127.0.0.1:6443", "[::1]:6443"], "all_down": False, "backends": [
        {"name": "cp1", "address": "127.0.0.1:7001", "state": "up", "check": "https",
         "last_check": {"ok": True, "layer": "", "reason": "", "latency_ms": 1.2, "age_ms": 300},
         "active_sessions": 3, "sessions_total": 10, "connect_failures": 0, "mean_session_age_s": 42.0,
         "slow_start_share": 0.25, "bytes_per_s": 2048000.0, "session_ages": {"0-1m": 1, "1m-10m": 0, "10m-1h": 2, "1h-6h": 0, "6h+": 0}},
        {"name": "cp2", "address": "127.0.0.1:7002", "state": "down", "check": "https",
         "last_check": {"ok": False, "layer": "L4", "reason": "connection refused", "latency_ms": 0.2,
                        "age_ms": 2500},
         "active_sessions": 0, "sessions_total": 4, "connect_failures": 2}], "session_skew": 3.0},
    {"name": "etcd", "listen": ["127.0.0.1:2379"], "all_down": True, "backends": [
        {"name": "e1", "address": "127.0.0.1:7101", "state": "down", "check": "tcp", "last_check": None,
         "active_sessions": 0, "sessions_total": 0, "connect_failures": 5}]}]}


class Handler(http.server.BaseHTTPRequestHandler):
    body = json.dumps(DOC).encode()
    status = 200

    def do_GET(self):
        if self.path != "/backends":
            self.send_error(404)
            return
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args):
    return subprocess.run([KHA, *args], capture_output=True, text=True, timeout=30)


class Status(unittest.TestCase):
    def serve(self, handler=Handler):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return "127.0.0.1:%d" % server.server_address[1]

    def test_table(self):
        r = run("status", "--admin", self.serve())
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["FRONTEND", "BACKEND", "ADDRESS", "STATE", "CHECK", "LAST", "CHECK",
                                            "LATENCY", "AGE", "ACTIVE", "TOTAL", "CONNECT", "FAILURES",
                                            "SESSION", "AGE", "BYTES/S", "AGES", "1m/10m/1h/6h/+"])
        self.assertEqual(lines[1].split(), ["apiserver", "cp1", "127.0.0.1:7001", "up", "https", "ok", "1.2ms",
                                            "300ms", "ago", "3", "10", "0", "~42.0s", "2.0M", "1/0/2/0/0"])
        self.assertEqual(lines[2].split(), ["apiserver", "cp2", "127.0.0.1:7002", "down", "https", "L4:",
                                            "connection", "refused", "0.2ms", "2.5s", "ago", "0", "4", "2", "-", "0", "-"])
        self.assertEqual(lines[3].split(), ["etcd", "e1", "127.0.0.1:7101", "down", "tcp", "-", "-", "-",
                                            "0", "0", "5", "-", "0", "-"])
        # cp2 and e1 come without the age and share fields (as from an older kha): defaults, no error.
        self.assertEqual(lines[4:], ["frontend apiserver: cp1 is in its slow start, offered 25% of new sessions",
                                     "frontend apiserver: sessions skewed 3.00x (fullest / emptiest healthy backend)",
                                     "frontend etcd: every backend is down; connections try all of them"])
        # columns line up: every row starts its ADDRESS column at the same offset
        self.assertEqual({line.index("127.0.0.1") for line in lines[1:4]}, {lines[0].index("ADDRESS")})

    def test_json(self):
        r = run("status", "--admin", self.serve(), "-o", "json")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(json.loads(r.stdout), DOC)

    def test_yaml(self):
        r = run("status", "--admin", self.serve(), "-o", "yaml")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(yaml.safe_load(r.stdout), DOC)

    def test_unreachable_endpoint_is_exit_1(self):
        address = "127.0.0.1:%d" % free_port()
        r = run("status", "--admin", address)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("kha status: cannot reach the admin endpoint http://%s/backends: Connection refused"
                      % address, r.stderr)

    def test_not_the_backends_document_is_exit_1(self):
        class Html(Handler):
            body = b"<html>hello</html>"
        r = run("status", "--admin", self.serve(Html))
        self.assertEqual(r.returncode, 1)
        self.assertIn("did not answer with the backends document", r.stderr)

    def test_error_status_is_exit_1(self):
        class Broken(Handler):
            status = 503
            body = b"not ready"
        address = self.serve(Broken)
        r = run("status", "--admin", address)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "kha status: http://%s/backends answered 503: not ready\n" % address)

    def test_hung_endpoint_times_out(self):
        with socket.socket() as s:  # accepts (kernel backlog) but never answers
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            address = "127.0.0.1:%d" % s.getsockname()[1]
            r = run("status", "--admin", address, "--timeout", "300ms")
        self.assertEqual(r.returncode, 1)
        self.assertIn("timed out after 300ms", r.stderr)

    def test_usage_errors_are_exit_2(self):
        r = run("status", "--admin", "nohostport")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "kha status: --admin: expected host:port, e.g. 127.0.0.1:6443, got \"nohostport\"\n")
        self.assertEqual(run("status", "-o", "xml").returncode, 2)


if __name__ == "__main__":
    unittest.main()
