#!/usr/bin/env python3
"""Issue 16's fleet simulation: N kha instances on one machine against 3 stand-in apiservers.

Three `kha standin` TLS stand-ins (check_cost.Standin: they count new connections, full
and resumed TLS handshakes and requests) and N `kha proxy` processes, each with
packaging/kha.yaml (https /readyz checks as shipped) changed only in its addresses, one
frontend on its own port, its own admin port and `workers: 1`. Phase 1: the steady load
per apiserver and per instance, extrapolated to a fleet. Phase 2: stand-in cp1 is
SIGKILLed and started again on the same port (an apiserver restart); the counters of all
three are sampled every --sample seconds, which gives the peak one-second rates at the
returning one and at the others, and each instance's log (all N) and /metrics (a sample)
say when it saw cp1 down and up again. Loopback only; every process started is stopped.
"""

import argparse
import bisect
import datetime
import json
import os
import resource
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from check_cost import CPU_MS, FLEETS, Standin, kha_shipped  # noqa: E402

KEYS = (("connections", "new TLS conn"), ("handshakes_full", "full hs"),
        ("handshakes_resumed", "resumed hs"), ("data_requests", "requests"))
PORT_BASE, PORT_END = 27000, 32700  # below the ephemeral range (32768-60999)
MEM_SHARE = 0.6                     # at most this share of MemAvailable for the instances


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise bl.BenchError("no MemAvailable in /proc/meminfo")


def free_ports(count, start=PORT_BASE):
    out, port = [], start
    while len(out) < count and port < PORT_END:
        if bl.port_free(port):
            out.append(port)
        port += 1
    if len(out) < count:
        raise bl.BenchError(f"only {len(out)} free ports in {start}-{PORT_END}, {count} needed")
    return out


def wait_ready(ports, procs, timeout):
    """Waits until every admin port answers /readyz 200 (all backends seen); bounded."""
    deadline = time.monotonic() + timeout
    left = set(range(len(ports)))
    while left and time.monotonic() < deadline:
        for i in sorted(left):
            if not procs[i].alive():
                raise bl.BenchError(f"instance {i} exited; see {procs[i].log.name}")
            try:
                if bl.http_get(ports[i], "/readyz", timeout=1.0)[0] == 200:
                    left.discard(i)
            except OSError:
                pass
        if left:
            time.sleep(0.2)
    if left:
        raise bl.BenchError(f"{len(left)} instances not ready within {timeout:.0f}s")


def rates(before, after, seconds):
    return {k: (after[k] - before[k]) / seconds for k, _ in KEYS}


def peak_rates(series):
    """series: [(t, counters)] of one stand-in process life, counters cumulative.
    The highest rate of each counter over any window of at least one second."""
    peak = {k: 0.0 for k, _ in KEYS}
    times = [t for t, _ in series]
    for i, (t, c) in enumerate(series):
        j = bisect.bisect_right(times, t - 1.0) - 1  # latest sample >= 1 s before
        if j < 0:
            continue
        t0, c0 = series[j]
        for k in peak:
            peak[k] = max(peak[k], (c[k] - c0[k]) / (t - t0))
    return peak


def log_transitions(path, offset, backend):
    """(first down, first up after it) wall times of `backend` in a kha log after offset."""
    down = up = None
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode(errors="replace")
            if f" backend={backend} " not in line:
                continue
            when = datetime.datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()
            if " backend_down " in line and down is None:
                down = when
            elif " backend_up " in line and down is not None and up is None:
                up = when
    return down, up


def poll_metrics(ports, backend, stop, seen):
    """Sweeps the sampled instances' /metrics until stop: seen[i] = [first 0, first 1 after]."""
    needle = f'backend="{backend}"}} '
    while not stop.is_set():
        for i, port in enumerate(ports):
            try:
                _, body = bl.http_get(port, "/metrics", timeout=1.0)
            except OSError:
                continue
            for line in body.decode().splitlines():
                if line.startswith("kha_pool_backend_up{") and needle in line:
                    now, value = time.time(), line.rsplit(" ", 1)[1]
                    if value == "0" and seen[i][0] is None:
                        seen[i][0] = now
                    elif value == "1" and seen[i][0] is not None and seen[i][1] is None:
                        seen[i][1] = now
        stop.wait(0.1)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def start_fleet(args, repo, workdir, sports, ports):
    """The instances, started --stagger apart (bounded to 20 s); lowers N if memory is short."""
    procs = []

    def start(i):
        procs.append(kha_shipped(args.kha, repo, ports[2 * i], sports, ports[2 * i + 1], workdir,
                                 f"kha-{i:04d}", overrides={"workers": 1}))

    start(0)
    wait_ready([ports[1]], procs, 15.0)
    rss, _ = bl.memory_kib([procs[0].pid])
    fit = max(1, int(mem_available_kib() * MEM_SHARE / max(rss, 4096)))
    n = args.instances
    if n > fit:
        bl.log(f"WARNING: {n} instances of {rss} KiB RSS do not fit in {MEM_SHARE:.0%} of "
               f"MemAvailable; running {fit}")
        n = fit
    gap = min(args.stagger, 20.0 / max(n, 1))
    for i in range(1, n):
        time.sleep(gap)  # noqa: the stagger itself
        start(i)
    return procs, rss


def run(args, repo, workdir, procs, standins):
    n = args.instances
    ports = free_ports(2 * n + 6)
    sports = ports[2 * n:]
    for j in (1, 2, 3):
        standins.append(Standin(args.kha, f"cp{j}", workdir, listen=f"127.0.0.1:{sports[2 * j - 2]}",
                                control=f"127.0.0.1:{sports[2 * j - 1]}"))
    backends = [s.port for s in standins]
    bl.log(f"fleet: starting {n} instances (ports {ports[0]}-{ports[2 * n - 1]})")
    fleet, rss = start_fleet(args, repo, workdir, backends, ports)
    procs.extend(fleet)
    n = len(procs)
    admin = [ports[2 * i + 1] for i in range(n)]
    wait_ready(admin, procs, 30.0 + 0.2 * n)
    bl.log(f"fleet: {n} instances ready; warm-up {args.warmup:.0f}s")
    time.sleep(args.warmup)  # noqa: first handshakes and rise settle
    pids = [p.pid for p in procs]

    # Phase 1: steady load.
    bl.log(f"fleet: phase 1, steady {args.steady:.0f}s")
    t0, cpu0, scpu0 = time.monotonic(), bl.cpu_seconds(pids), bl.cpu_seconds([s.proc.pid for s in standins])
    before = [s.state() for s in standins]
    timeline = []
    while time.monotonic() < t0 + args.steady:
        time.sleep(min(1.0, max(0.0, t0 + args.steady - time.monotonic())))  # noqa: sampling period
        states = [s.state() for s in standins]
        t1 = time.monotonic()
        timeline.append([round(t1 - t0, 2)] + states)
    after = timeline[-1][1:]
    cpu1, scpu1 = bl.cpu_seconds(pids), bl.cpu_seconds([s.proc.pid for s in standins])
    mem_rss, mem_pss = bl.memory_kib(pids)
    steady = [rates(b, a, t1 - t0) for b, a in zip(before, after)]
    mean = {k: sum(r[k] for r in steady) / 3 for k, _ in KEYS}
    phase1 = {"seconds": t1 - t0, "per_apiserver": steady, "mean_per_apiserver": mean,
              "per_instance": {k: v / n for k, v in mean.items()},
              "kha_cpu_cores": (cpu1 - cpu0) / (t1 - t0), "standins_cpu_cores": (scpu1 - scpu0) / (t1 - t0),
              "kha_rss_kib": mem_rss, "kha_pss_kib": mem_pss, "timeline": timeline}

    # Phase 2: cp1 killed, back on the same port after --down seconds.
    offsets = [os.path.getsize(p.log.name) for p in procs]
    sample = list(range(0, n, max(1, n // args.poll)))[:args.poll]
    seen = [[None, None] for _ in sample]
    stop = threading.Event()
    poller = threading.Thread(target=poll_metrics, args=([admin[i] for i in sample], "cp1", stop, seen),
                              daemon=True)
    series = [[] for _ in standins]  # per stand-in: [(t since kill, counters)] of the current life
    lives = [[], [], []]
    bl.log(f"fleet: phase 2, SIGKILL cp1, back after {args.down:.0f}s, sampling {args.observe:.0f}s")
    poller.start()
    kill_wall, kill = time.time(), time.monotonic()
    standins[0].kill()
    restart_wall = restarted = None
    while time.monotonic() < kill + args.observe:
        if restarted is None and time.monotonic() >= kill + args.down:
            lives[0].append(series[0])
            series[0] = [(time.monotonic() - kill, {k: 0 for k, _ in KEYS})]  # a new process counts from 0
            restart_wall = time.time()
            standins[0] = Standin(args.kha, "cp1", workdir, listen=f"127.0.0.1:{sports[0]}",
                                  control=f"127.0.0.1:{sports[1]}")
            restarted = time.monotonic()
            bl.log(f"fleet: cp1 back after {restarted - kill:.2f}s")
        for j, s in enumerate(standins):
            if j == 0 and restarted is None:
                continue
            try:
                series[j].append((time.monotonic() - kill, s.state(timeout=1.0)))
            except OSError:
                pass
        time.sleep(args.sample)  # noqa: sampling period
    stop.set()
    poller.join(5)
    for j in range(3):
        lives[j].append(series[j])
    if restarted is None:
        raise bl.BenchError("--observe ended before --down: cp1 was not restarted")

    peaks = [peak_rates(lives[0][-1])] + [peak_rates(lives[j][0]) for j in (1, 2)]
    back = lives[0][-1]  # starts with the zero sample at the restart
    first5 = [c for t, c in back if t <= restarted - kill + 5.0][-1]  # counters are cumulative
    downs, ups = [], []
    for p, off in zip(procs, offsets):
        d, u = log_transitions(p.log.name, off, "cp1")
        downs.append(None if d is None else d - kill_wall)
        ups.append(None if u is None else u - restart_wall)
    seen_up = [u - restart_wall for _, u in seen if u is not None]
    phase2 = {
        "down_seconds": restarted - kill, "observe_seconds": args.observe, "sample_seconds": args.sample,
        "peak_per_second": {"cp1 (returning)": peaks[0], "cp2 (other)": peaks[1], "cp3 (other)": peaks[2]},
        "returning_first_5s": first5,
        "seen_down_after_kill_s": {"instances": sum(d is not None for d in downs),
                                   "median": pct([d for d in downs if d is not None], 0.5),
                                   "max": max([d for d in downs if d is not None], default=None)},
        "seen_up_after_restart_s": {"instances": sum(u is not None for u in ups),
                                    "median": pct([u for u in ups if u is not None], 0.5),
                                    "p90": pct([u for u in ups if u is not None], 0.9),
                                    "max": max([u for u in ups if u is not None], default=None)},
        "metrics_poll": {"instances": len(sample), "seen_up": len(seen_up), "max_s": max(seen_up, default=None)},
        "series": {f"cp{j + 1}": [[[round(t, 3), c] for t, c in life] for life in lives[j]] for j in range(3)},
    }
    return {"instances": n, "requested": args.instances, "rss_first_kib": rss, "phase1": phase1,
            "phase2": phase2}


def cores(r, nodes):
    return nodes * (r["handshakes_full"] * CPU_MS["full"] + r["handshakes_resumed"] * CPU_MS["resumed"]
                    + r["data_requests"] * CPU_MS["request"]) / 1000


def report(res):
    n, p1, p2 = res["instances"], res["phase1"], res["phase2"]
    row = lambda name, r, fmt="{:13.2f}": print(f"{name:34} " + " ".join(fmt.format(r[k]) for k, _ in KEYS))  # noqa
    head = f"{'':34} " + " ".join(f"{label:>13}" for _, label in KEYS)
    print(f"\nFleet simulation: {n} kha instances (packaging/kha.yaml, workers 1), 3 TLS stand-ins")
    print(f"Phase 1, steady {p1['seconds']:.0f}s: per second")
    print(head)
    for j, r in enumerate(p1["per_apiserver"], 1):
        row(f"apiserver cp{j}", r)
    row("per instance per apiserver", p1["per_instance"], "{:13.4f}")
    print(f"kha: {p1['kha_cpu_cores'] / n * 1000:.2f} ms CPU/s per instance ({p1['kha_cpu_cores']:.2f} cores for {n});"
          f" RSS {p1['kha_rss_kib'] / n / 1024:.1f} MiB, Pss {p1['kha_pss_kib'] / n / 1024:.1f} MiB per instance;"
          f" stand-ins {p1['standins_cpu_cores'] / 3:.3f} cores each")
    print("Per apiserver at fleet size (full / resumed / requests per second, cores at the issue's Go figures):")
    per = p1["per_instance"]
    print("  steady: " + "; ".join(f"{f} nodes {f * per['handshakes_full']:.0f} / {f * per['handshakes_resumed']:.0f}"
                                   f" / {f * per['data_requests']:.0f} ({cores(per, f):.2f})" for f in FLEETS))
    print(f"Phase 2, cp1 SIGKILLed, back on its port after {p2['down_seconds']:.1f}s: peak 1-s rates"
          f" (sampled every {p2['sample_seconds']}s for {p2['observe_seconds']:.0f}s)")
    print(head)
    for name, r in p2["peak_per_second"].items():
        row(name, r)
    row("steady mean (phase 1)", p1["mean_per_apiserver"])
    ret = {k: v / n for k, v in p2["peak_per_second"]["cp1 (returning)"].items()}
    print("  returning apiserver's peak at fleet size: " + "; ".join(
        f"{f} nodes {f * ret['handshakes_full']:.0f} full hs/s, {f * ret['data_requests']:.0f} req/s"
        f" ({cores(ret, f):.2f} cores)" for f in FLEETS))
    f5 = p2["returning_first_5s"]
    print(f"  returning, first 5 s: {f5['connections']} connections, {f5['handshakes_full']} full,"
          f" {f5['handshakes_resumed']} resumed handshakes, {f5['data_requests']} requests")
    d, u, m = p2["seen_down_after_kill_s"], p2["seen_up_after_restart_s"], p2["metrics_poll"]
    fmt = lambda v: "-" if v is None else f"{v:.2f}s"  # noqa: E731
    print(f"  seen down (logs): {d['instances']}/{n} instances, median {fmt(d['median'])}, max {fmt(d['max'])}"
          f" after the kill")
    print(f"  seen up again (logs): {u['instances']}/{n} instances, median {fmt(u['median'])}, p90 {fmt(u['p90'])},"
          f" max {fmt(u['max'])} after the restart; /metrics poll of {m['instances']}: {m['seen_up']} up,"
          f" last at {fmt(m['max_s'])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kha", required=True)
    ap.add_argument("--instances", type=int, default=200, help="kha processes (default 200)")
    ap.add_argument("--stagger", type=float, default=0.02, help="seconds between starts (all within 20 s)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after all are ready (default 5)")
    ap.add_argument("--steady", type=float, default=30.0, help="phase 1 window (default 30)")
    ap.add_argument("--down", type=float, default=5.0, help="seconds cp1 stays dead (default 5)")
    ap.add_argument("--observe", type=float, default=20.0, help="phase 2 seconds from the kill (default 20)")
    ap.add_argument("--sample", type=float, default=0.2, help="phase 2 sampling period (0.1-0.25 s)")
    ap.add_argument("--poll", type=int, default=20, help="instances whose /metrics phase 2 polls")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if not 1 <= args.instances <= 2500 or not 0.05 <= args.sample <= 1.0 or args.down >= args.observe:
        ap.error("--instances 1..2500, --sample 0.05..1, --down < --observe")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    workdir = args.out or tempfile.mkdtemp(prefix="kha-fleet-sim-")
    os.makedirs(workdir, exist_ok=True)
    bl.log(f"fleet: open files {raise_nofile()}, MemAvailable {mem_available_kib() // 1024} MiB")
    procs, standins = [], []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that finally runs
    try:
        res = run(args, repo, workdir, procs, standins)
    finally:
        for p in procs:
            p.signal(signal.SIGTERM)
        for p in procs:
            p.stop()
        for s in standins:
            s.stop()
    res["command"] = " ".join(sys.argv[1:])
    report(res)
    with open(os.path.join(workdir, "fleet-sim.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(f"\nraw: {workdir}/fleet-sim.json")


if __name__ == "__main__":
    main()
