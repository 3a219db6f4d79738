"""Child processes with captured logs and guaranteed cleanup, ports, and waiting."""

import atexit
import collections
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_live = []  # every Process not yet cleaned up, for the atexit safety net
_log_dirs = []  # removed at exit unless KHA_KEEP_LOGS is set


def kha_bin():
    """Path of the kha binary: $KHA_BIN (set by ctest), else build/src/cli/kha."""
    env = os.environ.get("KHA_BIN")
    if env:
        return env
    root = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
    return str(root / "build" / "src" / "cli" / "kha")


_handed_out = collections.deque(maxlen=256)


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago on host (IPv4 or IPv6 literal), and not one
    this process was handed recently: the kernel may give the same free port to two
    binds in a row, and a test asking for two ports needs two."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            break
    _handed_out.append(port)
    return port


def wait_until(cond, timeout=10.0, what="condition", interval=0.05):
    """Calls cond() until it returns something truthy and returns that value.

    Exceptions from cond() count as "not yet". After `timeout` seconds raises
    AssertionError naming `what` and the last value or exception seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = cond()
            if value:
                return value
            last = repr(value)
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what} (last: {last})")
        time.sleep(interval)


def tcp_connects(host, port, timeout=0.5):
    """True when a TCP connect to host:port succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_listening(port):
    """True when some socket on this host listens on TCP `port` (any address).

    Reads /proc/net/tcp{,6} instead of connecting, so that a proxy under test never
    sees an empty probe connection (which it might forward and count)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for row in f:
                    cols = row.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            continue
    return False


class Process:
    """A started child process. stdout and stderr go to files in `log_dir`.

    stop() (SIGTERM, then SIGKILL after a grace) is safe to call more than once;
    it also runs from unittest cleanups (owner=) and at interpreter exit. Logs stay
    readable after stop(); the directory goes at exit (kept when KHA_KEEP_LOGS=1).
    """

    def __init__(self, args, name, env=None, cwd=None, log_dir=None):
        self.args = [str(a) for a in args]
        self.name = name
        self._own_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"kha-{name}-"))
        if self._own_dir:
            _log_dirs.append(self.log_dir)
        self.stdout_path = self.log_dir / f"{name}.stdout"
        self.stderr_path = self.log_dir / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.popen = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                      env=env, cwd=cwd, start_new_session=True)
        self.returncode = None
        _live.append(self)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def tail(self, lines=20):
        """The last lines of stderr, for assertion messages."""
        return "\n".join(self.stderr().splitlines()[-lines:])

    def wait_for_line(self, prefix, timeout=10.0):
        """The first stdout line starting with prefix; fails early if the process exits."""
        def find():
            for line in self.stdout().splitlines():
                if line.startswith(prefix):
                    return line
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode} before printing "
                                     f"'{prefix}'; stderr:\n{self.tail()}")
            return None
        try:
            return wait_until(find, timeout, f"{self.name} to print '{prefix}...'")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.name} stderr:\n{self.tail()}") from None

    def hang(self):
        """SIGSTOP: the process freezes; its kernel still completes TCP handshakes."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout=10.0):
        """Waits for exit and returns the exit code (negative: killed by that signal)."""
        self.returncode = self.popen.wait(timeout=timeout)
        return self.returncode

    def kill(self):
        """SIGKILL and reap."""
        if self.alive():
            self.popen.kill()
        return self.wait()

    def stop(self, grace=10.0):
        """SIGTERM (after SIGCONT, in case it was stopped), SIGKILL after `grace`; returns the exit code."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGCONT)
                self.popen.terminate()
                self.returncode = self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.returncode = self.popen.wait()
        else:
            self.returncode = self.popen.wait()
        self._close()
        return self.returncode

    def _close(self):
        for f in (self._out, self._err):
            if not f.closed:
                f.close()
        if self in _live:
            _live.remove(self)


    def stop_checked(self):
        """stop(), and when the process was still running, fail unless it exited 0
        (catches crashes and sanitizer reports at exit)."""
        was_alive = self.alive()
        code = self.stop()
        if was_alive and code != 0:
            raise AssertionError(f"{self.name} exited with {code} on SIGTERM; stderr:\n{self.tail(40)}")
        return code


def start_process(args, name=None, env=None, cwd=None, log_dir=None, owner=None, check_exit=True):
    """Starts args with logs captured. owner (a unittest.TestCase) gets a cleanup that
    stops it and, with check_exit, fails the test unless a still-running process exits 0."""
    name = name or Path(str(args[0])).name
    p = Process(args, name, env=env, cwd=cwd, log_dir=log_dir)
    if owner is not None:
        owner.addCleanup(p.stop_checked if check_exit else p.stop)
    return p


@atexit.register
def _cleanup_all():
    for p in list(_live):
        try:
            if p.alive():
                os.kill(p.pid, signal.SIGCONT)
                p.popen.kill()
            p.popen.wait(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
        p._close()
    if not os.environ.get("KHA_KEEP_LOGS"):
        for d in _log_dirs:
            shutil.rmtree(d, ignore_errors=True)
