"""scripts/deps.sh installs every tool the test suite calls (issue #13).

The tools are found by reading the tests (support/tools.py); each must be on this
machine and come from a package that deps.sh lists, or from one that every Debian root
has (Priority: required). Tools that no Debian 12 package provides (kubectl) are the
exception, and every test that calls one must skip, with the reason, when it is absent:
this runs those tests with a PATH that lacks the tool.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import tools


def owning_package(path):
    """The Debian package that ships path (dpkg -S), trying the /bin and /usr/bin
    spellings of a merged-/usr system and the file a symlink points to."""
    candidates = [path, os.path.realpath(path)]
    for c in list(candidates):
        if c.startswith("/usr/"):
            candidates.append(c[len("/usr"):])
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True, timeout=30)
        # "pkg[:arch][, pkg2]: /usr/bin/x", with "diversion by ..." lines around it.
        owners = [line for line in r.stdout.splitlines() if not line.startswith("diversion ")]
        if r.returncode == 0 and owners:
            return owners[0].split(":")[0].split(",")[0].strip()
    return None


def priority(package):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Priority} ${Essential}", package],
                       capture_output=True, text=True, timeout=30)
    return r.stdout.split()


class DepsInstallsEveryTool(unittest.TestCase):
    def test_scan_finds_the_tools_the_suite_is_known_to_call(self):
        # The scan itself is checked: a reading that found nothing would pass everything.
        found = tools.suite_tools()
        for tool in ("etcd", "etcdctl", "keepalived", "openssl", "curl", "ip", "kubectl", "cpack", "lintian"):
            self.assertIn(tool, found)
        for not_a_tool in ("status", "standin", "vip", "b0"):
            self.assertNotIn(not_a_tool, found)

    def test_every_tool_comes_from_a_package_deps_sh_installs(self):
        if not shutil.which("dpkg"):
            self.skipTest("not a Debian system (no dpkg)")
        listed = set(tools.deps_packages())
        problems = []
        for tool, where in sorted(tools.suite_tools().items()):
            if tool in tools.NOT_IN_DEBIAN:
                continue
            path = shutil.which(tool)
            if path is None:
                problems.append(f"{tool} (called at {where[0]}) is not installed: add its package to scripts/deps.sh")
                continue
            package = owning_package(path)
            if package is None:
                problems.append(f"{tool} at {path} (called at {where[0]}) belongs to no Debian package")
            elif package not in listed and "required" not in priority(package) and "yes" not in priority(package):
                problems.append(f"{tool} (called at {where[0]}) comes from {package}, which scripts/deps.sh does not list")
        self.assertEqual(problems, [], "\n".join(problems))

    def test_build_only_set_is_part_of_the_full_set(self):
        build = tools.deps_packages(build_only=True)
        self.assertIn("g++", build)
        self.assertNotIn("python3", build)  # the demo needs no Python (KHA_BUILD_TESTS=OFF)
        self.assertLessEqual(set(build), set(tools.deps_packages()))

    def test_tests_skip_with_the_reason_where_a_non_debian_tool_is_absent(self):
        # Each file that calls such a tool runs with a PATH that lacks it: it must pass
        # (its other tests) or be skipped whole, and print the reason.
        for tool in tools.NOT_IN_DEBIAN:
            files = sorted(str(p.relative_to(tools.SOURCE)) for p in (tools.TESTS / "integration").glob("test_*.py")
                           if tool in p.read_text() and p.name != Path(__file__).name)
            self.assertTrue(files, f"no test calls {tool}: drop it from NOT_IN_DEBIAN")
            with tempfile.TemporaryDirectory(prefix="kha-path-") as bare:
                path = self.path_without(tool, Path(bare))
                for f in files:
                    with self.subTest(tool=tool, file=f):
                        self.run_without(tool, f, path)

    def path_without(self, tool, bare):
        """A PATH that finds every program but tool: the directories that hold it are
        replaced by one of links to their other programs."""
        dirs = []
        for d in os.environ.get("PATH", "").split(os.pathsep):
            if d and (Path(d) / tool).exists():
                for entry in Path(d).iterdir():
                    link = bare / entry.name
                    if entry.name != tool and not link.exists():
                        link.symlink_to(entry)
                dirs.append(str(bare))
            else:
                dirs.append(d)
        return os.pathsep.join(dirs)

    def run_without(self, tool, test_file, path):
        env = dict(os.environ, PATH=path)
        env.pop("KHA_SKIP_LOG", None)
        r = subprocess.run([sys.executable, "support/run_unittest.py", test_file[len("tests/"):]], cwd=tools.TESTS,
                           env=env, capture_output=True, text=True, timeout=600)
        self.assertIn(r.returncode, (0, 77), f"{test_file} failed without {tool}:\n{r.stderr[-3000:]}")
        # A file may bring its own stand-in for the tool (test_discovery_rbac.py gives a
        # script the one kubectl answer it needs) and pass; what it skips names the tool.
        if r.returncode == 77 or "skipped" in r.stderr:
            self.assertRegex(r.stderr, rf"skipped .*{tool}",
                             f"{test_file} did not say why it skipped:\n{r.stderr[-3000:]}")


if __name__ == "__main__":
    unittest.main()
