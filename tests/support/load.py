"""Bounded client load: every loop stops by itself after `count` requests or
`duration` seconds, whichever comes first."""

import collections
import threading
import time


class LoadResult:
    """attempts, ok, failures [(t, error str)], identities Counter, latencies [s],
    hung (requests that hit their own timeout), elapsed (s)."""

    def __init__(self):
        self.attempts = 0
        self.ok = 0
        self.failures = []
        self.hung = 0
        self.identities = collections.Counter()
        self.latencies = []
        self.elapsed = 0.0

    def summary(self):
        return (f"{self.attempts} attempts, {self.ok} ok, {len(self.failures)} failed ({self.hung} timed out), "
                f"by identity {dict(self.identities)}; first failures: {self.failures[:3]}")


class ClientLoad:
    """Calls fn() from `workers` threads until `count` calls or `duration` seconds.

    fn returns the identity that answered (any hashable, or None) or raises; a raised
    TimeoutError/socket.timeout counts as hung. interval: pause between one worker's
    calls. Use run() to block, or start()/stop()/wait() around a fault.
    """

    def __init__(self, fn, count=1000, duration=10.0, interval=0.0, workers=1):
        if count <= 0 or duration <= 0:
            raise ValueError("a load loop needs a positive count and duration")
        self.fn = fn
        self.count = count
        self.duration = duration
        self.interval = interval
        self.workers = workers
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._start = None

    def _take(self):
        with self._lock:
            if self._stop.is_set() or self.result.attempts >= self.count:
                return False
            if time.monotonic() - self._start >= self.duration:
                return False
            self.result.attempts += 1
            return True

    def _worker(self):
        while self._take():
            t0 = time.monotonic()
            try:
                who = self.fn()
                with self._lock:
                    self.result.ok += 1
                    self.result.identities[who] += 1
                    self.result.latencies.append(time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001 - every failure is recorded
                with self._lock:
                    if isinstance(e, TimeoutError):
                        self.result.hung += 1
                    self.result.failures.append((round(t0 - self._start, 3), f"{type(e).__name__}: {e}"))
            if self.interval:
                self._stop.wait(self.interval)

    def start(self):
        self._start = time.monotonic()
        self._threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        return self.wait()

    def wait(self):
        """Joins the workers (bounded: duration plus one call) and returns LoadResult."""
        for t in self._threads:
            t.join()
        self.result.elapsed = time.monotonic() - self._start
        return self.result

    def run(self):
        return self.start().wait()


def run_load(fn, count=1000, duration=10.0, interval=0.0, workers=1):
    """ClientLoad(...).run(): blocks until done and returns LoadResult."""
    return ClientLoad(fn, count, duration, interval, workers).run()
