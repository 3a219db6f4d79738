"""A minimal Debian 12 root (debootstrap --variant=minbase), made once and kept in a
cache outside the checkout so that later runs (and CI on the same machine) start from
it in seconds; each test works on a copy, with the cache's apt archives bound in so
that packages are downloaded once too.

KHA_ROOT_CACHE names the cache folder (default /var/cache/kha-tests)."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

CACHE = Path(os.environ.get("KHA_ROOT_CACHE", "/var/cache/kha-tests"))
SUITE = "bookworm"
# What a newcomer's machine has besides minbase (the "plus git, ca-certificates and sudo").
EXTRA = ["ca-certificates", "git", "sudo"]
NETWORK_ERRORS = ("Temporary failure resolving", "Could not resolve", "Could not connect", "Failed to fetch",
                  "Connection timed out", "Network is unreachable")


def mirror():
    """The Debian mirror this machine's apt uses."""
    for sources in Path("/etc/apt/sources.list.d").glob("*.sources"):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    lists = Path("/etc/apt/sources.list")
    if lists.exists():
        for line in lists.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["deb"]:
                return parts[1]
    raise unittest.SkipTest("no Debian mirror in /etc/apt sources")


def skip_unless_possible():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (debootstrap, chroot, mount)")
    if not shutil.which("debootstrap"):
        raise unittest.SkipTest("needs debootstrap (scripts/deps.sh installs it)")


def pristine():
    """The cached minbase root, made on first use (a few minutes, from the mirror)."""
    root = CACHE / f"{SUITE}-minbase"
    done = root / ".kha-complete"
    if done.exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    for stale in CACHE.glob("minbase-*"):  # a run that was stopped half-way
        shutil.rmtree(stale, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix="minbase-", dir=CACHE))
    try:
        r = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(EXTRA)}", SUITE, str(partial),
                            mirror()], capture_output=True, text=True, timeout=1200)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if r.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        tail = (r.stdout + r.stderr)[-1500:]
        if any(e in tail for e in NETWORK_ERRORS) or "Couldn't download" in tail:
            raise unittest.SkipTest(f"the Debian mirror is not reachable from here: {tail}")
        raise AssertionError(f"debootstrap failed:\n{tail}")
    (partial / ".kha-complete").write_text(SUITE + "\n")
    partial.rename(root)
    return root


class RootCopy:
    """A throwaway copy of the pristine root with /proc mounted, the host's resolver
    and the cache's apt archives; close() unmounts and removes it."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="kha-root-"))
        self.path = self.tmp / "root"
        self.mounts = []
        subprocess.run(["cp", "-a", str(pristine()), str(self.path)], check=True, timeout=600)
        shutil.copy("/etc/resolv.conf", self.path / "etc/resolv.conf")
        archives = CACHE / "apt-archives"
        (archives / "partial").mkdir(parents=True, exist_ok=True)
        self.mount(["--bind", str(archives)], self.path / "var/cache/apt/archives")
        self.mount(["-t", "proc", "proc"], self.path / "proc")

    def mount(self, args, where):
        subprocess.run(["mount", *args, str(where)], check=True, timeout=60)
        self.mounts.append(where)

    def run(self, script, timeout):
        """Runs a bash script inside the root as a fresh login would: root, a plain PATH."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
               "LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
        return subprocess.run(["chroot", str(self.path), "bash", "-c", script], env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def copy_checkout(self, source, dest="src/kha"):
        """The checkout as it is (tracked and new files, not build output) at /dest."""
        files = subprocess.run(["git", "-C", str(source), "ls-files", "-z", "--cached", "--others",
                                "--exclude-standard"], check=True, capture_output=True, timeout=60).stdout
        names = [n for n in files.decode().split("\0") if n and (Path(source) / n).exists()]
        target = self.path / dest
        target.mkdir(parents=True)
        subprocess.run(["tar", "-C", str(source), "--null", "-T", "-", "-cf", str(self.tmp / "src.tar")],
                       input="\0".join(names).encode(), check=True, timeout=300)
        subprocess.run(["tar", "-C", str(target), "-xf", str(self.tmp / "src.tar")], check=True, timeout=300)
        return "/" + dest

    def close(self):
        for where in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(where)], timeout=60)
        self.mounts = []
        # Never remove through a mount that is still there (the cache's archives).
        live = Path("/proc/mounts").read_text()
        if str(self.tmp) not in live:
            shutil.rmtree(self.tmp, ignore_errors=True)
