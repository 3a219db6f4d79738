"""kha plan on a hostile inventory (issue #14 item 8): the real binary, no mocks.

- A "billion laughs" alias bomb (542 bytes, 9^9 strings once expanded) in an inventory or a
  group_vars file, an alias inside its own anchor, templates reading each other 10^9 times:
  a clean exit 2 naming the file, quickly, never std::bad_alloc or an abort.
- A host named ../../../escaped with ignore_assert_errors: true: `kha plan render` refuses
  the name and writes nothing, inside or outside --out.
- A symbolic link planted inside --out that points outside: never followed.
"""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import harness

INI = """[kube_control_plane]
cp1 ip=10.0.0.1
cp2 ip=10.0.0.2
cp3 ip=10.0.0.3
[etcd:children]
kube_control_plane
[kube_node]
w1 ip=10.0.0.11
{extra}
[k8s_cluster:children]
kube_control_plane
kube_node
"""


def alias_bomb(indent=""):
    lines = [indent + 'a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{indent}{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if not p.is_dir() or p.is_symlink())


class HostileInventory(unittest.TestCase):
    def setUp(self):
        self.base = Path(tempfile.mkdtemp(prefix="kha-plan-hostile-"))
        self.addCleanup(shutil.rmtree, self.base, True)
        # --out sits three levels down so that hosts/../../../escaped would land inside base.
        self.inv = self.base / "inv"
        self.out = self.base / "x" / "y" / "out"
        self.inv.mkdir()

    def write(self, rel, text):
        p = self.inv / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def kha(self, *args):
        r = subprocess.run([harness.kha_bin(), *map(str, args)], capture_output=True, text=True, timeout=30)
        self.assertGreaterEqual(r.returncode, 0, f"killed by signal {-r.returncode}: {r.stderr[-2000:]}")
        for crash in ("bad_alloc", "terminate called", "Aborted", "AddressSanitizer", "runtime error"):
            self.assertNotIn(crash, r.stderr)
        return r

    def assert_bomb_refused(self, path):
        for args in (("plan", "-i", self.inv), ("plan", "render", "-i", self.inv, "--out", self.out)):
            with self.subTest(args=args[:2]):
                r = self.kha(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(f"{path}:", r.stderr)
                self.assertIn("alias bomb", r.stderr)
        self.assertFalse(self.out.exists(), "render wrote something for a refused inventory")

    def test_alias_bomb_in_yaml_inventory(self):
        text = ("all:\n  vars:\n" + alias_bomb("    ") +
                "  children:\n    kube_control_plane:\n      hosts:\n        cp1: {ip: 10.0.0.1}\n"
                "    etcd:\n      hosts:\n        cp1:\n")
        path = self.write("hosts.yaml", text)
        self.assertLess(len(alias_bomb()), 600)
        self.assert_bomb_refused(path)

    def test_alias_bomb_in_group_vars(self):
        self.write("inventory.ini", INI.format(extra=""))
        path = self.write("group_vars/all/all.yml", alias_bomb())
        self.assert_bomb_refused(path)

    def test_alias_inside_its_own_anchor(self):
        # A cycle: every branch is infinitely deep; one message, at once.
        self.write("inventory.ini", INI.format(extra=""))
        path = self.write("group_vars/all.yml", "a: &a [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n")
        r = self.kha("plan", "-i", self.inv)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr[:2000])
        self.assertIn(f"{path}:1: nesting deeper than 64 levels", r.stderr)

    def test_templates_reading_each_other_many_times_over(self):
        # v9 would read v0 10^9 times; the kubespray variable that uses it is named.
        lines = ['v0: "x"'] + [f'v{i}: "' + ("{{ v%d }}" % (i - 1)) * 10 + '"' for i in range(1, 10)]
        self.write("inventory.ini", INI.format(extra=""))
        path = self.write("group_vars/all.yml", "\n".join(lines) + '\nkube_apiserver_port: "{{ v9 }}"\n')
        r = self.kha("plan", "-i", self.inv)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"{path}:11: kube_apiserver_port: evaluating it for host", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def test_escaping_host_name_is_refused_whatever_ignore_assert_errors_says(self):
        self.write("inventory.ini", INI.format(extra="../../../escaped ip=10.0.0.12"))
        self.write("group_vars/all/all.yml", "ignore_assert_errors: true\n")
        before = files_under(self.base)
        r = self.kha("plan", "render", "-i", self.inv, "--out", self.out)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"{self.inv}/inventory.ini:9: ../../../escaped: host name \"../../../escaped\" contains \"..\"",
                      r.stderr)
        self.assertEqual(files_under(self.base), before, "kha plan render wrote files for a refused inventory")
        self.assertFalse((self.base / "x" / "escaped").exists())

    def render_good(self, *extra):
        self.write("inventory.ini", INI.format(extra="w2 ip=10.0.0.12"))
        return self.kha("plan", "render", "-i", self.inv, "--out", self.out, *extra)

    def test_symlinked_directory_inside_out_is_not_followed(self):
        outside = self.base / "outside"
        outside.mkdir()
        self.out.mkdir(parents=True)
        os.symlink(outside, self.out / "hosts")
        r = self.render_good()
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("symbolic link", r.stderr)
        self.assertEqual(files_under(outside), [], "a write followed the link out of --out")

    def test_symlinked_file_inside_out_is_not_written_through(self):
        r = self.render_good()
        self.assertEqual(r.returncode, 0, r.stderr)
        target = self.base / "precious"
        target.write_text("do not touch\n")
        config = self.out / "hosts/w1/etc/kha/kha.yaml"
        config.unlink()
        os.symlink(target, config)
        for extra in ((), ("--force",)):
            with self.subTest(extra=extra):
                r = self.render_good(*extra)
                self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn(f"{config}: is a symbolic link", r.stderr)
                self.assertEqual(target.read_text(), "do not touch\n")
                self.assertTrue(config.is_symlink())


if __name__ == "__main__":
    unittest.main()
