"""Packaging: the .deb, its maintainer scripts, the systemd units and the man pages.

Builds the Debian package with cpack from the test's own build tree (into a
temporary directory, so the build tree is left alone), then inspects it with
dpkg-deb and lintian, verifies the units with systemd-analyze, and checks that the
man pages say what the binary's --help says and that kha.yaml(5) covers every
field of src/config/schema.h. The manifests and the sd_notify scenario have their
own files: test_deploy_manifests.py and test_sd_notify.py.

Not done here: installing the .deb into a debootstrap root (a Debian 12 bootstrap
plus the package's dependencies takes longer than a test may, and needs the
mirror); the maintainer scripts run instead against stub commands that record
their calls.
"""
import gzip
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

KHA_BIN = Path(os.environ.get("KHA_BIN", "../build/src/cli/kha")).resolve()
SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def build_dir():
    for parent in KHA_BIN.parents:
        if (parent / "CPackConfig.cmake").exists():
            return parent
    raise unittest.SkipTest(f"no CPackConfig.cmake above {KHA_BIN}")


def run(*args, env=None, check=True, timeout=300):
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def project_version():
    cache = (build_dir() / "CMakeCache.txt").read_text()
    return re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.+)$", cache, re.M).group(1)


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cpack", "dpkg-deb"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} not installed (scripts/deps.sh installs it)")
        cls.tmp = Path(tempfile.mkdtemp(prefix="kha-pkg-"))
        run("cpack", "-G", "DEB", "--config", str(build_dir() / "CPackConfig.cmake"), "-B", str(cls.tmp / "out"))
        debs = list((cls.tmp / "out").glob("kha_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = cls.tmp / "root"
        cls.control = cls.tmp / "control"
        run("dpkg-deb", "-x", str(cls.deb), str(cls.root))
        run("dpkg-deb", "-e", str(cls.deb), str(cls.control))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_file_name_and_control_fields(self):
        arch = run("dpkg", "--print-architecture").stdout.strip()
        self.assertEqual(self.deb.name, f"kha_{project_version()}-1_{arch}.deb")
        fields = run("dpkg-deb", "-f", str(self.deb)).stdout
        self.assertRegex(fields, r"(?m)^Package: kha$")
        self.assertRegex(fields, rf"(?m)^Version: {re.escape(project_version())}-1$")
        depends = re.search(r"(?m)^Depends: (.*)$", fields).group(1)
        self.assertIn("adduser", depends)  # postinst creates the kha user with it
        self.assertIn("libc6", depends)  # shared library dependencies are computed, not guessed

    def test_contents_are_exactly_the_binary_units_config_and_docs(self):
        listing = run("dpkg-deb", "-c", str(self.deb)).stdout.splitlines()
        files = {}
        for line in listing:
            mode, owner, _size, _date, _time, path = line.split(None, 5)
            self.assertEqual(owner, "root/root", line)
            if not mode.startswith("d"):
                files[path.removeprefix(".")] = mode
        expected = {
            "/usr/bin/kha": "-rwxr-xr-x",
            "/lib/systemd/system/kha-proxy.service": "-rw-r--r--",
            "/lib/systemd/system/kha-vip.service": "-rw-r--r--",
            "/etc/kha/kha.yaml": "-rw-r--r--",
            "/usr/share/man/man1/kha.1.gz": "-rw-r--r--",
            "/usr/share/man/man1/kha-proxy.1.gz": "-rw-r--r--",
            "/usr/share/man/man1/kha-plan.1.gz": "-rw-r--r--",
            "/usr/share/man/man5/kha.yaml.5.gz": "-rw-r--r--",
            "/usr/share/doc/kha/copyright": "-rw-r--r--",
            "/usr/share/doc/kha/changelog.Debian.gz": "-rw-r--r--",
            "/usr/share/lintian/overrides/kha": "-rw-r--r--",
        }
        self.assertEqual(files, expected)
        shipped = (self.root / "etc/kha/kha.yaml").read_text()
        self.assertEqual(shipped, (SOURCE / "packaging/kha.yaml").read_text())
        self.assertIn('listen: ["127.0.0.1:6443", "[::1]:6443"]', shipped)
        self.assertRegex(shipped, r"(?m)^  listen: 127\.0\.0\.1:8081$")

    def test_binary_runs_and_is_stripped(self):
        kha = self.root / "usr/bin/kha"
        self.assertEqual(run(str(kha), "--version").stdout.strip(), f"kha {project_version()}")
        if shutil.which("file"):
            self.assertIn("stripped", run("file", str(kha)).stdout)
            self.assertNotIn("not stripped", run("file", str(kha)).stdout)

    def test_config_is_a_conffile(self):
        self.assertEqual((self.control / "conffiles").read_text().split(), ["/etc/kha/kha.yaml"])

    def test_maintainer_scripts_are_executable_shell(self):
        for name in ("postinst", "prerm", "postrm"):
            path = self.control / name
            self.assertTrue(path.stat().st_mode & stat.S_IXUSR, name)
            run("sh", "-n", str(path))

    def test_no_maintainer_script_enables_starts_or_restarts_a_unit(self):
        verbs = re.compile(r"\b(systemctl|deb-systemd-invoke|deb-systemd-helper)\b.*\b(enable|start|restart|try-restart|reload-or-restart|unmask)\b")
        for name in ("postinst", "prerm", "postrm"):
            for line in (self.control / name).read_text().splitlines():
                code = line.strip()
                if code.startswith(("#", "echo")):
                    continue
                self.assertIsNone(verbs.search(code), f"{name}: {line}")

    def run_script(self, name, *args, user_exists):
        """Runs a maintainer script with adduser, deluser, getent, systemctl ... replaced by
        stubs that record their arguments; returns the recorded calls."""
        stubs = self.tmp / f"stubs-{name}-{'-'.join(args)}-{user_exists}"
        stubs.mkdir()
        log = stubs / "calls.log"
        for tool in ("adduser", "deluser", "delgroup", "useradd", "userdel", "groupdel", "systemctl",
                     "deb-systemd-invoke", "deb-systemd-helper", "rmdir"):
            (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
            (stubs / tool).chmod(0o755)
        (stubs / "getent").write_text(f'#!/bin/sh\necho "getent $*" >> "{log}"\nexit {0 if user_exists else 2}\n')
        (stubs / "getent").chmod(0o755)
        env = {"PATH": f"{stubs}:/usr/bin:/bin"}
        proc = run("sh", str(self.control / name), *args, env=env, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return log.read_text().splitlines() if log.exists() else []

    def test_postinst_creates_the_kha_system_user_once(self):
        calls = self.run_script("postinst", "configure", "", user_exists=False)
        adds = [c for c in calls if c.startswith("adduser ")]
        self.assertEqual(len(adds), 1, calls)
        for flag in ("--system", "--group", "--no-create-home", "--shell /usr/sbin/nologin"):
            self.assertIn(flag, adds[0])
        self.assertTrue(adds[0].endswith(" kha"), adds[0])
        again = self.run_script("postinst", "configure", "0.0.9-1", user_exists=True)
        self.assertFalse([c for c in again if c.startswith("adduser ")], again)

    def test_postrm_purge_removes_the_user_and_remove_keeps_it(self):
        purge = self.run_script("postrm", "purge", user_exists=True)
        self.assertIn("deluser --system --quiet kha", purge)
        self.assertIn("delgroup --system --quiet kha", purge)
        remove = self.run_script("postrm", "remove", user_exists=True)
        self.assertFalse([c for c in remove if c.startswith(("deluser", "delgroup", "userdel"))], remove)

    def test_lintian_finds_no_error_or_warning(self):
        if not shutil.which("lintian"):
            self.skipTest("lintian not installed (scripts/deps.sh installs it)")
        proc = run("lintian", "--pedantic", "--info", str(self.deb), check=False, timeout=600)
        findings = [l for l in proc.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
        print("\nlintian findings:\n  " + "\n  ".join(findings or ["none"]))
        self.assertEqual([l for l in findings if l.startswith(("E:", "W:"))], [])

    def unit_text(self, name):
        return (self.root / "lib/systemd/system" / name).read_text()

    def test_units_pass_systemd_analyze_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed (package systemd)")
        units = self.tmp / "units"
        units.mkdir(exist_ok=True)
        paths = []
        for name in ("kha-proxy.service", "kha-vip.service"):
            # The units name /usr/bin/kha; verify checks that it exists, so point it at the package's copy.
            text = self.unit_text(name).replace("/usr/bin/kha", str(self.root / "usr/bin/kha"))
            (units / name).write_text(text)
            paths.append(str(units / name))
        env = dict(os.environ, MANPATH=f"{self.root}/usr/share/man:/usr/share/man")
        man = [] if shutil.which("man") else ["--man=no"]  # with man: Documentation= must resolve to our pages
        proc = run("systemd-analyze", "verify", *man, *paths, env=env, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.strip(), "")
        for path in paths:
            out = run("systemd-analyze", "security", "--offline=yes", path, check=False).stdout
            level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
            self.assertIsNotNone(level, out)
            print(f"\n{Path(path).name}: exposure {level.group(1)}")
            self.assertLess(float(level.group(1)), 3.0, out)

    def test_proxy_unit_is_notify_watchdog_unprivileged_and_hardened(self):
        text = self.unit_text("kha-proxy.service")
        for line in ("Type=notify", "WatchdogSec=30s", "ExecReload=/bin/kill -HUP $MAINPID", "User=kha",
                     "AmbientCapabilities=", "CapabilityBoundingSet=", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                     "SystemCallFilter=@system-service", "LimitNOFILE=1048576",
                     # ProtectSystem=strict: the only places kha may write (state file, takeover socket)
                     "StateDirectory=kha", "RuntimeDirectory=kha"):
            self.assertRegex(text, rf"(?m)^{re.escape(line)}$")
        self.assertRegex(text, r"(?m)^ExecStart=/usr/bin/kha proxy --config \$\{KHA_CONFIG\}")
        self.assertRegex(text, r"(?m)^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX")

    def test_vip_unit_has_exactly_net_admin_and_net_raw(self):
        text = self.unit_text("kha-vip.service")
        self.assertRegex(text, r"(?m)^AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW$")
        self.assertRegex(text, r"(?m)^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW$")
        self.assertRegex(text, r"(?m)^User=kha$")
        self.assertRegex(text, r"(?m)^ExecStart=/usr/bin/kha vip --config ")

    def rendered(self, page):
        if not shutil.which("man"):
            self.skipTest("man not installed")
        env = dict(os.environ, MANWIDTH="200")
        proc = subprocess.run(["man", "--warnings", "-l", str(self.root / "usr/share/man" / page)],
                              capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.strip(), "", f"{page}: groff warnings")
        return re.sub(r".\x08", "", proc.stdout)

    def test_command_pages_carry_every_option_of_help(self):
        for page, sub in (("man1/kha.1.gz", []), ("man1/kha-proxy.1.gz", ["proxy"]), ("man1/kha-plan.1.gz", ["plan"])):
            text = self.rendered(page)
            help_text = run(str(KHA_BIN), *sub, "--help").stdout
            options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text))
            self.assertTrue(options, help_text)
            self.assertEqual(options - set(re.findall(r"--[a-z][a-z0-9-]*", text.replace("‐", "-"))), set(), page)
            title = Path(page).name.split(".")[0].upper()
            self.assertTrue(text.lstrip().startswith(f"{title}(1)"), text[:80])

    def test_config_page_documents_every_schema_field(self):
        text = self.rendered("man5/kha.yaml.5.gz")
        # From docs/config.md or, without it, from the comments of packaging/kha.yaml.
        self.assertTrue("tls.ca_file" in text and "EXAMPLE" in text, text[:2000])
        missing = [f for f in sorted(schema_fields()) if not re.search(rf"\b{f}\b", text)]
        self.assertEqual(missing, [], "schema fields kha.yaml(5) does not document")


def schema_fields():
    """Member names of the structs in src/config/schema.h, the config's single source."""
    header = (SOURCE / "src/config/schema.h").read_text()
    fields = set()
    for body in re.findall(r"struct \w+ \{(.*?)\n\};", header, re.S):
        for line in body.splitlines():
            m = re.match(r"\s+[\w:<>, ]+?\s+(\w+)(?:\s*=.*)?;", line)
            if m:
                fields.add(m.group(1))
    return fields - {"source"}  # where the config came from, not a key


class DefaultConfig(unittest.TestCase):
    def test_default_config_keys_match_the_schema_both_ways(self):
        keys = set(re.findall(r"(?m)^\s*(?:- )?([a-z_]+):", (SOURCE / "packaging/kha.yaml").read_text()))
        fields = schema_fields()
        self.assertGreater(len(fields), 30)
        self.assertEqual(fields - keys, set(), "schema fields missing from packaging/kha.yaml")
        self.assertEqual(keys - fields, set(), "keys of packaging/kha.yaml that the schema lacks")

    def test_check_config_accepts_the_shipped_file(self):
        proc = run(str(KHA_BIN), "check-config", str(SOURCE / "packaging/kha.yaml"), check=False)
        if "not built yet" in proc.stderr:
            self.skipTest("kha check-config is not built yet")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
