"""kha check-config: the real binary on good and bad files.

Every message here is also asserted by tests/unit/config/ (one case per rule); this
checks that the binary prints them, one per line on stderr, and exits 2.
"""
import os
import subprocess
import tempfile
import unittest

KHA = os.environ.get("KHA_BIN", "kha")
SOURCE = os.environ.get("KHA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

BASE = (
    "frontends:\n"
    "  - name: api\n"
    "    listen: [\"127.0.0.1:6443\"]\n"
    "    backends:\n"
    "      - {name: cp1, address: 10.0.0.1:6443}\n"
)

# (extra lines continuing the frontend from line 6, expected message without "FILE:")
RULES = [
    ("    health: {rise: 0}\n", "6:20: frontends[0].health.rise: must be >= 1, got 0"),
    ("    health: {fall: -1}\n", "6:20: frontends[0].health.fall: must be >= 1, got -1"),
    ("    health: {jitter: 0.75}\n", "6:22: frontends[0].health.jitter: must be 0..0.5, got 0.75"),
    ("    health: {interval: 0s}\n", "6:24: frontends[0].health.interval: must be 1ms..1h, got 0ms"),
    ("    health: {path: readyz}\n", "6:20: frontends[0].health.path: must start with \"/\", got \"readyz\""),
    ("    health: {expect_status: 600}\n", "6:29: frontends[0].health.expect_status: must be 100..599, got 600"),
    ("    health: {kind: tls, tls: {verify: true}}\n",
     "6:30: frontends[0].health.tls.ca_file: is required when verify is true"),
    ("    health: {tls: {cert_file: c.pem}}\n",
     "6:19: frontends[0].health.tls.key_file: is required when cert_file is set"),
    ("    health: {kind: http}\n",
     "6:20: frontends[0].health.kind: expected none, tcp, tls or https, got \"http\""),
    ("    timeouts: {connect: 5}\n",
     "6:25: frontends[0].timeouts.connect: expected a duration with a unit (ms, s, m, h) such as \"5s\", got \"5\""),
    ("    balance: random\n", "6:14: frontends[0].balance: expected roundrobin or leastconn, got \"random\""),
    ("    max_connect_attempts: 0\n", "6:27: frontends[0].max_connect_attempts: must be >= 1, got 0"),
    ("    hedge: {first_bytes_max: 65537}\n", "6:30: frontends[0].hedge.first_bytes_max: must be 1..65536, got 65537"),
    ("    client_first: yes\n", "6:19: frontends[0].client_first: expected true or false, got \"yes\""),
    ("      - {name: cp1, address: 10.0.0.2:6443}\n",
     "6:16: frontends[0].backends[1].name: duplicate backend name \"cp1\" (also backends[0])"),
    ("      - {address: \"10.0.0.2\"}\n",
     "6:19: frontends[0].backends[1].address: expected host:port, e.g. 127.0.0.1:6443, got \"10.0.0.2\""),
    ("    balance: leastconn\n    balance: roundrobin\n",
     "7:5: frontends[0].balance: duplicate key \"balance\" (first at line 6)"),
    ("    health: {kind: tcp, intervall: 1s}\n",
     "6:25: frontends[0].health.intervall: unknown key \"intervall\" (did you mean \"interval\"?); expected one of: kind, interval, "
     "transition_interval, down_interval, down_interval_max, timeout, rise, fall, jitter, fresh_connect_interval, path, expect_status, tls"),
    ("  - name: api\n    listen: [\"127.0.0.1:1\"]\n    backends: [{address: 10.0.0.1:1}]\n",
     "6:11: frontends[1].name: duplicate frontend name \"api\" (also frontends[0])"),
    ("  - name: two\n    listen: [\"[::1]:1\", \"127.0.0.1:6443\"]\n    backends: [{address: 10.0.0.1:1}]\n",
     "7:25: frontends[1].listen[1]: address 127.0.0.1:6443 is already used by frontends[0].listen[0]"),
    ("admin: {listen: \"127.0.0.1:6443\"}\n",
     "6:17: admin.listen: address 127.0.0.1:6443 is already used by frontends[0].listen[0]"),
]


def run(*args):
    return subprocess.run([KHA, *args], capture_output=True, text=True, timeout=30)


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_each_rule_prints_its_message_and_exits_2(self):
        for extra, message in RULES:
            with self.subTest(message=message):
                path = self.write("bad.yaml", BASE + extra)
                r = run("check-config", path)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stderr, f"{path}:{message}\n")
                self.assertEqual(r.stdout, "")

    def test_every_problem_is_printed_at_once_in_file_order(self):
        path = self.write("many.yaml", "workers: -1\n" + BASE + "    balance: random\n    health: {rise: 0, fall: x}\n")
        r = run("check-config", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.splitlines(), [
            f"{path}:1:10: workers: must be >= 0, got -1",
            f"{path}:7:14: frontends[0].balance: expected roundrobin or leastconn, got \"random\"",
            f"{path}:8:20: frontends[0].health.rise: must be >= 1, got 0",
            f"{path}:8:29: frontends[0].health.fall: expected an integer, got \"x\"",
        ])

    def test_invalid_yaml_names_line_and_column(self):
        path = self.write("syntax.yaml", "frontends: [\n  {name: a\n")
        r = run("check-config", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, f"{path}:3:1: invalid YAML: end of map flow not found\n")

    def test_unreadable_file(self):
        missing = os.path.join(self.tmp.name, "missing.yaml")
        r = run("check-config", missing)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, f"{missing}: cannot read the file: No such file or directory\n")
        r = run("check-config", self.tmp.name)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, f"{self.tmp.name}: cannot read the file: Is a directory\n")

    def test_missing_argument_is_a_usage_error(self):
        r = run("check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("FILE is required", r.stderr)

    def test_valid_file_prints_a_summary(self):
        path = self.write("good.yaml", BASE + "      - {name: cp2, address: \"[fd00::2]:6443\"}\n")
        r = run("check-config", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(r.stdout, f"{path}: ok: 1 frontend (api), 1 listener, 2 backends\n")

    def test_shipped_examples_are_valid(self):
        examples = os.path.join(SOURCE, "examples")
        expected = {
            "node-local-lb.yaml": "1 frontend (apiserver), 2 listeners, 3 backends",
            "external-lb.yaml": "1 frontend (kubernetes-apiserver-https), 1 listener, 2 backends",
        }
        for name, summary in expected.items():
            with self.subTest(example=name):
                path = os.path.join(examples, name)
                r = run("check-config", path)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertEqual(r.stdout, f"{path}: ok: {summary}\n")


if __name__ == "__main__":
    unittest.main()
