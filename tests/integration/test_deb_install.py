"""The .deb installed, upgraded, removed and purged in a fresh Debian 12 root.

Works on a copy of a root prepared by packaging/make-test-root.sh (debootstrap
minbase bookworm plus the package's dependencies): the test itself stays offline
and only runs dpkg inside a chroot. Without such a root, or without root
privileges, it reports itself skipped with the reason. To enable it:

    packaging/make-test-root.sh build/test-root build/kha_<version>-1_<arch>.deb

(KHA_TEST_ROOT names another prepared root.)
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

KHA_BIN = Path(os.environ.get("KHA_BIN", "../build/src/cli/kha")).resolve()


def build_dir():
    for parent in KHA_BIN.parents:
        if (parent / "CPackConfig.cmake").exists():
            return parent
    raise unittest.SkipTest(f"no CPackConfig.cmake above {KHA_BIN}")


class InstallInFreshRoot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for chroot")
        prepared = Path(os.environ.get("KHA_TEST_ROOT", build_dir() / "test-root"))
        if not (prepared / "etc/debian_version").exists():
            raise unittest.SkipTest(f"no prepared Debian 12 root at {prepared}: run packaging/make-test-root.sh "
                                    f"{prepared} <the .deb> (debootstrap, about 2 minutes, needs the Debian mirror)")
        cls.tmp = Path(tempfile.mkdtemp(prefix="kha-install-"))
        out = cls.tmp / "out"
        subprocess.run(["cpack", "-G", "DEB", "--config", str(build_dir() / "CPackConfig.cmake"), "-B", str(out)],
                       check=True, capture_output=True, timeout=300)
        (cls.deb,) = out.glob("kha_*.deb")
        cls.root = cls.tmp / "root"
        subprocess.run(["cp", "-a", str(prepared), str(cls.root)], check=True, timeout=300)
        shutil.copy(cls.deb, cls.root / "tmp/kha.deb")
        cls.version = re.search(r"^kha_([^_]+)-1_", cls.deb.name).group(1)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def chroot(self, *args, check=True):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        proc = subprocess.run(["chroot", str(self.root), *args], capture_output=True, text=True, env=env, timeout=300)
        if check:
            self.assertEqual(proc.returncode, 0, f"{' '.join(args)}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def passwd_entry(self):
        proc = self.chroot("getent", "passwd", "kha", check=False)
        return proc.stdout.strip().split(":") if proc.returncode == 0 else None

    def test_install_upgrade_remove_purge(self):
        self.assertIsNone(self.passwd_entry())
        install = self.chroot("dpkg", "-i", "/tmp/kha.deb", check=False)
        if "dependency problems" in install.stderr:
            self.skipTest(f"the prepared root lacks a new dependency; rerun packaging/make-test-root.sh:\n{install.stderr}")
        self.assertEqual(install.returncode, 0, install.stderr)

        # The binary runs; the system user exists and cannot log in.
        self.assertEqual(self.chroot("kha", "--version").stdout.strip(), f"kha {self.version}")
        user = self.passwd_entry()
        self.assertIsNotNone(user)
        self.assertLess(int(user[2]), 1000)
        self.assertEqual((user[5], user[6]), ("/nonexistent", "/usr/sbin/nologin"))
        self.assertEqual(self.chroot("id", "-gn", "kha").stdout.strip(), "kha")
        self.assertFalse((self.root / "nonexistent").exists())
        for path in ("etc/kha/kha.yaml", "lib/systemd/system/kha-proxy.service", "lib/systemd/system/kha-vip.service",
                     "usr/share/man/man1/kha-proxy.1.gz", "usr/share/man/man5/kha.yaml.5.gz"):
            self.assertTrue((self.root / path).exists(), path)
        # Nothing enabled: no unit is wanted by any target.
        wants = list((self.root / "etc/systemd/system").glob("*.wants/kha-*")) if (
            self.root / "etc/systemd/system").exists() else []
        self.assertEqual(wants, [])

        # An operator's edit survives a reinstall (upgrade path) and a remove.
        config = self.root / "etc/kha/kha.yaml"
        config.write_text(config.read_text() + "# operator edit\n")
        self.chroot("dpkg", "-i", "/tmp/kha.deb")
        self.assertEqual(self.passwd_entry(), user)  # not recreated
        self.assertTrue(config.read_text().endswith("# operator edit\n"))
        self.chroot("dpkg", "--remove", "kha")
        self.assertFalse((self.root / "usr/bin/kha").exists())
        self.assertFalse((self.root / "lib/systemd/system/kha-proxy.service").exists())
        self.assertTrue(config.read_text().endswith("# operator edit\n"))
        self.assertIsNotNone(self.passwd_entry())  # kept until purge

        purge = self.chroot("dpkg", "--purge", "kha")
        self.assertEqual(purge.stderr.strip(), "")
        self.assertFalse((self.root / "etc/kha").exists())
        self.assertIsNone(self.passwd_entry())
        self.assertNotEqual(self.chroot("getent", "group", "kha", check=False).returncode, 0)
        status = self.chroot("dpkg-query", "-W", "-f=${db:Status-Status}", "kha", check=False).stdout
        self.assertIn(status, ("not-installed", ""))


if __name__ == "__main__":
    unittest.main()
