"""The README's two commands on a fresh Debian 12 (issue #13), in a minbase root with
git, ca-certificates and sudo, as a newcomer's machine: scripts/demo.sh installs what it
needs, builds only `kha` and runs the demo to its end; then scripts/deps.sh (the test
command's dependency set) installs every tool the suite calls.

Needs root and debootstrap; the root is made once and cached (support/debian_root.py),
so a later run only copies it. Prints how long the demo took from a clean checkout.
"""
import os
import time
import unittest
from pathlib import Path

from support import debian_root, tools

SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))


class ReadmeCommandsOnFreshDebian(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        debian_root.skip_unless_possible()
        cls.root = debian_root.RootCopy()
        cls.src = cls.root.copy_checkout(SOURCE)

    @classmethod
    def tearDownClass(cls):
        cls.root.close()

    def run_in_root(self, script, timeout):
        r = self.root.run(script, timeout)
        out = r.stdout + r.stderr
        if r.returncode != 0 and any(e in out for e in debian_root.NETWORK_ERRORS):
            self.skipTest(f"the Debian mirror is not reachable from here: {out[-800:]}")
        return r, out

    def test_1_demo_builds_only_kha_and_runs(self):
        started = time.monotonic()
        r, out = self.run_in_root(f"cd {self.src} && scripts/demo.sh", timeout=2400)
        took = time.monotonic() - started
        print(f"\nscripts/demo.sh on a fresh minbase root: {took:.0f} s (exit {r.returncode})", flush=True)
        self.assertEqual(r.returncode, 0, out[-4000:])
        self.assertIn("no request failed", r.stdout)
        self.assertIn("killing", r.stdout)
        # Only what the demo runs: no test binary, no Python, no GoogleTest.
        built = self.root.path / self.src.lstrip("/") / "build"
        self.assertTrue((built / "src/cli/kha").exists())
        self.assertEqual(list(built.rglob("*_test")), [])
        self.assertNotEqual(self.root.run("command -v python3", 60).returncode, 0,
                            "the demo's dependency set pulled in python3: the demo needs no Python")

    def test_2_deps_installs_every_tool_the_suite_calls(self):
        r, out = self.run_in_root(f"cd {self.src} && scripts/deps.sh", timeout=2400)
        self.assertEqual(r.returncode, 0, out[-4000:])
        missing = []
        for tool, where in sorted(tools.suite_tools().items()):
            if tool in tools.NOT_IN_DEBIAN:
                continue
            if self.root.run(f"command -v {tool}", 60).returncode != 0:
                missing.append(f"{tool} (called at {where[0]})")
        self.assertEqual(missing, [], "not installed by scripts/deps.sh in a fresh root: " + ", ".join(missing))


if __name__ == "__main__":
    unittest.main()
