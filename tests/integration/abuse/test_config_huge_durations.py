"""kha check-config on absurd durations (issue #14 item 9): the real binary, no mocks.

`health.interval: 1000000000h` used to be accepted and overflow steady_clock arithmetic at
run time; parts summing past 2^64 ms wrapped (to 5s here) and were accepted. Both now exit 2
with FILE:LINE:COLUMN, the field and what is allowed; so does a value past its key's bound.
"""
import os
import subprocess
import tempfile
import unittest

from support import harness

BASE = (
    "frontends:\n"
    "  - name: api\n"
    "    listen: [\"127.0.0.1:6443\"]\n"
    "    backends:\n"
    "      - {name: cp1, address: 10.0.0.1:6443}\n"
)

# 5124 * 1000000000h + 95576030h + 1556616ms == 2**64 ms + 5000 ms
WRAPS_TO_5S = "1000000000h" * 5124 + "95576030h1556616ms"
assert 5124 * 10**9 * 3_600_000 + 95576030 * 3_600_000 + 1556616 == 2**64 + 5000


class HugeDurations(unittest.TestCase):
    def check(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "proxy.yaml")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([harness.kha_bin(), "check-config", path], capture_output=True, text=True, timeout=30)
        self.assertGreaterEqual(r.returncode, 0, f"killed by signal {-r.returncode}: {r.stderr}")
        return path, r

    def test_billion_hours_interval(self):
        path, r = self.check(BASE + "    health:\n      interval: 1000000000h\n")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f'{path}:7:17: frontends[0].health.interval: expected a duration of at most 1000000h, '
                      f'got "1000000000h"', r.stderr)

    def test_parts_wrapping_past_2_to_64_ms(self):
        path, r = self.check(BASE + f"    health:\n      interval: {WRAPS_TO_5S}\n")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"{path}:7:17: frontends[0].health.interval: expected a duration of at most 1000000h", r.stderr)

    def test_each_key_has_a_bound(self):
        cases = [
            ("    health: {interval: 2h}\n", "6:24: frontends[0].health.interval: must be 1ms..1h, got 2h"),
            ("    health: {timeout: 6m}\n", "6:23: frontends[0].health.timeout: must be 1ms..5m, got 6m"),
            ("    timeouts: {connect: 10m}\n", "6:25: frontends[0].timeouts.connect: must be 1ms..5m, got 10m"),
            ("    timeouts: {client_idle: 48h}\n", "6:29: frontends[0].timeouts.client_idle: must be 1ms..24h, got 48h"),
            ("shutdown_grace: 2h\n", "6:17: shutdown_grace: must be 0ms..1h, got 2h"),
        ]
        for extra, message in cases:
            with self.subTest(message=message):
                path, r = self.check(BASE + extra)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(f"{path}:{message}", r.stderr)

    def test_bounds_themselves_are_accepted(self):
        path, r = self.check(BASE + "    health: {interval: 1h, timeout: 5m}\n    timeouts: {client_idle: 24h}\n"
                             "shutdown_grace: 1h\ndrain_timeout: 1h\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
