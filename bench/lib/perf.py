#!/usr/bin/env python3
"""kha proxy performance benchmark, beside HAProxy, nginx and no proxy at all.

Run through bench/run.sh, which installs the tools and builds the client.
Every proxy gets the same backends and its own port; the tests run one
proxy after the other, repeated --reps times with the order rotated each
round, and the table shows medians. Loopback only; every loop is bounded.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from benchlib import BenchError, log  # noqa: E402

IPERF_PORT = 18201
HTTP_PORTS = [18081, 18082, 18083]
KHA_ADMIN = 18190
PROXIES = ["kha", "haproxy", "haproxy-splice", "nginx", "no-proxy", "haproxy-aa", "kha-copy", "sockmap"]
# Not peers: controls and probes, shown beside them but left out of "best peer".
NOT_PEERS = ("kha", "no-proxy", "haproxy-aa", "kha-copy", "sockmap")
# Tests a kind takes part in, where not all: the sockmap probe has no half-close (at
# the first EOF it closes both sockets, and an answer the kernel has not relayed yet
# is lost), so it runs the keep-alive test only.
TESTS_OF = {"sockmap": ("keepalive",)}


def runs(proxy, test):
    """Whether `proxy` takes part in `test` (bulk, keepalive, connrate, mem)."""
    return test in TESTS_OF.get(proxy, (test,))


def peers_of(proxies):
    return [p for p in proxies if p not in NOT_PEERS]


def medians(samples, proxies, keys):
    return {p: {k: bl.median(samples[p].get(k, [])) for k in keys} for p in proxies}
# Listen port per proxy and phase: 18100 + 10*phase + index.
PHASES = {"bulk": 0, "http": 1, "mem": 2}
LIVE = []  # every Proxy made, stopped on the way out whatever happens


def listen_port(proxy, phase):
    return 18100 + 10 * PHASES[phase] + PROXIES.index(proxy)


class Proxy:
    """One proxy under test for one phase: start, pids, stop."""

    def __init__(self, kind, phase, backends, args, workdir):
        self.kind = kind
        self.phase = phase
        self.backends = backends
        self.port = listen_port(kind, phase) if kind != "no-proxy" else backends[0]
        self.args = args
        self.workdir = workdir
        self.proc = None
        LIVE.append(self)

    def start(self):
        if self.kind == "no-proxy":
            return
        tag = f"{self.kind}-{self.phase}"
        check = self.phase != "bulk"  # one iperf3 backend: checks only disturb it
        if self.kind.startswith("haproxy"):
            # haproxy-aa: a second, identical HAProxy (an A/A control: the
            # spread between it and `haproxy` is the run's noise).
            cfg = bl.haproxy_bench_cfg(self.port, self.backends,
                                       splice=self.kind == "haproxy-splice", check=check)
            self.proc = bl.start_haproxy(self.kind, cfg, self.workdir, tag)
        elif self.kind == "nginx":
            cfg = bl.nginx_kubespray_cfg(self.port, self.backends, self.workdir)
            self.proc = bl.start_nginx(self.kind, cfg, self.workdir, tag)
        elif self.kind == "sockmap":
            # The kernel relays the bytes (bench/tools/sockmap_probe.cc): what a proxy
            # could reach beyond the socket API. Bounded: it stops by itself.
            self.proc = bl.Proc(self.kind, [self.args.sockmap, str(self.port)] +
                                [str(b) for b in self.backends] + ["--seconds", "3600"],
                                os.path.join(self.workdir, f"{tag}.log"))
        elif self.kind in ("kha", "kha-copy"):
            # As the peers: no checks on the one iperf3 backend (TCP checks would
            # knock on the iperf3 server); `tcp` elsewhere. With --admin first;
            # a kha without `none` or the admin endpoint gets another try.
            admin = KHA_ADMIN + PHASES[self.phase] + (3 if self.kind == "kha-copy" else 0)
            variants = [("tcp", admin), ("tcp", None)]
            if self.phase == "bulk":
                variants = [("none", admin)] + variants
            for check, admin in variants:
                extra = ["--no-splice"] if self.kind == "kha-copy" else []
                self.proc = bl.start_kha(self.kind, self.args.kha, self.port, self.backends,
                                         self.workdir, tag, check=check, admin=admin,
                                         extra=extra)
                try:
                    bl.wait_port(self.port, 10, self.proc.popen)
                    return
                except BenchError as e:
                    log(f"  kha did not start ({e}); see {tag}.log")
                    self.proc.stop()
            raise BenchError(f"kha did not start; see {self.workdir}/{tag}.log")
        bl.wait_port(self.port, 10, self.proc.popen)

    def pids(self):
        return self.proc.pids() if self.proc else []

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


# ---------------------------------------------------------------- tests

def run_iperf(port, streams, seconds, workdir):
    """Returns Gbit/s received, or None after two failed attempts."""
    for attempt in range(2):
        try:
            out = subprocess.run(
                ["iperf3", "-c", bl.HOST, "-p", str(port), "-t", str(seconds),
                 "-P", str(streams), "-J", "--connect-timeout", "3000"],
                capture_output=True, text=True, timeout=seconds + 30)
            data = json.loads(out.stdout)
            if "error" in data:
                raise BenchError(data["error"])
            return data["end"]["sum_received"]["bits_per_second"] / 1e9
        except (BenchError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            log(f"  iperf3 to {port} -P{streams} failed ({e}); attempt {attempt + 1}")
            time.sleep(1)
    return None


def wrk_latency_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def run_wrk(port, seconds, threads, conns):
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "--latency",
         f"http://{bl.HOST}:{port}/"],
        capture_output=True, text=True, timeout=seconds + 30)
    rps = p50 = p99 = requests = None
    errors = 0
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == "requests" and parts[2] == "in":
            requests = int(parts[0])
        elif line.startswith("Requests/sec:"):
            rps = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "50.000%"):
            p50 = wrk_latency_us(parts[1])
        elif len(parts) == 2 and parts[0] in ("99%", "99.000%"):
            p99 = wrk_latency_us(parts[1])
        elif line.strip().startswith("Socket errors:") or "Non-2xx" in line:
            errors += sum(int(x) for x in re.findall(r"\d+", line))
    if rps is None:
        log(f"  wrk to {port} gave no result: {out.stdout[-300:]} {out.stderr[-300:]}")
    return {"rps": rps, "p50_us": p50, "p99_us": p99, "errors": errors, "requests": requests}


def run_connrate(client, port, seconds, concurrency):
    out = subprocess.run([client, "connrate", bl.HOST, str(port), "--concurrency",
                          str(concurrency), "--duration", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 30)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        log(f"  connrate to {port} failed: {out.stderr[-300:]}")
        return {"rate": None, "errors": None}


def run_idle_memory(proxy, client, count, workdir):
    """Fresh proxy: baseline memory, hold `count` idle sessions, measure again."""
    proxy.start()
    try:
        bl.wait_http_ok(proxy.port, 10, proxy.proc.popen)
        time.sleep(1.0)
        pids = proxy.pids()
        rss0, pss0 = bl.memory_kib(pids)
        fds0, pipes0 = bl.fd_counts(pids)
        holder = subprocess.Popen([client, "hold", bl.HOST, str(proxy.port), "--count",
                                   str(count), "--max-hold", "120"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = holder.stdout.readline()
            held = json.loads(line) if line else {"held": 0, "errors": count}
            # The client's connects are done, not the proxy's accepts: a listener with
            # TCP_DEFER_ACCEPT (kha, for a client-first protocol) takes a silent client
            # only after the kernel's SYN-ACK retries, seconds later. Wait (bounded)
            # until the proxy holds a descriptor per session before measuring.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and bl.fd_counts(proxy.pids())[0] - fds0 < held["held"]:
                time.sleep(0.2)
            time.sleep(1.0)  # let the proxy settle (lazy frees, checks)
            pids = proxy.pids()
            rss1, pss1 = bl.memory_kib(pids)
            fds1, pipes1 = bl.fd_counts(pids)
        finally:
            try:
                holder.stdin.write("done\n")
                holder.stdin.close()
            except OSError:
                pass
            try:
                holder.wait(30)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait()
        n = max(held["held"], 1)
        return {"held": held["held"], "hold_errors": held["errors"],
                "rss_kib_per_conn": (rss1 - rss0) / n, "pss_kib_per_conn": (pss1 - pss0) / n,
                "rss_before_kib": rss0, "rss_after_kib": rss1,
                "fds_before": fds0, "fds_after": fds1,
                "pipes_before": pipes0, "pipes_after": pipes1}
    finally:
        proxy.stop()


# ---------------------------------------------------------------- table

def measure_cpu(proxy_pids, backends):
    """CPU seconds so far: the proxy's user and system time, and the client's and
    backends' together."""
    user, system = bl.cpu_split(proxy_pids)
    return user, system, bl.children_cpu_seconds() + bl.cpu_seconds(backends.pids())


def add_cpu_split(add, proxy, what, after, before, count):
    """Per `what` (request or connection), in us: the proxy's CPU (`what`_cpu_us; none
    for no-proxy), its user-space part, and the client's plus backends' CPU."""
    user, system, rest = (1e6 * (a - b) / count for a, b in zip(after, before))
    if proxy != "no-proxy":
        add(proxy, f"{what}_cpu_us", user + system)
        add(proxy, f"{what}_user_us", user)
    add(proxy, f"{what}_rest_us", rest)


METRICS = [
    # key, label, unit, higher_is_better, format
    ("bulk1_gbps", "Bulk, 1 stream", "Gbit/s", True, "{:.1f}"),
    ("bulk8_gbps", "Bulk, 8 streams", "Gbit/s", True, "{:.1f}"),
    ("cpu_pct_per_gbps", "Proxy CPU per Gbit/s (8 streams)", "% of a core", False, "{:.1f}"),
    ("rps", "Keep-alive requests/s", "req/s", True, "{:,.0f}"),
    ("p50_us", "Keep-alive latency p50", "us", False, "{:.0f}"),
    ("p99_us", "Keep-alive latency p99", "us", False, "{:.0f}"),
    ("req_cpu_us", "Proxy CPU per request (keep-alive)", "us", False, "{:.1f}"),
    ("req_user_us", "Proxy user-space CPU per request", "us", False, "{:.2f}"),
    ("req_rest_us", "Client + backends CPU per request", "us", False, "{:.1f}"),
    ("conn_rate", "New connections/s", "conn/s", True, "{:,.0f}"),
    ("conn_cpu_us", "Proxy CPU per new connection", "us", False, "{:.0f}"),
    ("conn_user_us", "Proxy user-space CPU per new connection", "us", False, "{:.1f}"),
    ("conn_rest_us", "Client + backends CPU per new connection", "us", False, "{:.0f}"),
    ("pss_kib_per_conn", "Idle memory per session (Pss)", "KiB", False, "{:.2f}"),
    ("rss_kib_per_conn", "Idle memory per session (RSS)", "KiB", False, "{:.2f}"),
    ("pipes_idle", "Pipe fds added by the idle sessions", "fds", False, "{:.0f}"),
    ("fds_per_conn", "Descriptors per idle session", "fds", False, "{:.2f}"),
]


def fmt(value, pattern):
    return "-" if value is None else pattern.format(value)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def table(samples, proxies):
    med = medians(samples, proxies, [k for k, *_ in METRICS])
    peers = peers_of(proxies)
    head = ["Metric", "Unit"] + proxies
    if "kha" in proxies:
        head += [f"kha/{p}" for p in peers] + ["kha/best peer"]
    if "no-proxy" in proxies:
        head += [f"{p}/no-proxy" for p in proxies if p != "no-proxy"]
    rows = []
    for key, label, unit, higher, pattern in METRICS:
        vals = [med[p][key] for p in proxies]
        if all(v is None for v in vals):
            continue
        row = [label, unit] + [fmt(v, pattern) for v in vals]
        if "kha" in proxies:
            row += [ratio(med["kha"][key], med[p][key]) for p in peers]
            pv = [med[p][key] for p in peers if med[p][key] is not None]
            best = (max(pv) if higher else min(pv)) if pv else None
            row.append(ratio(med["kha"][key], best))
        if "no-proxy" in proxies:
            row += [ratio(med[p][key], med["no-proxy"][key]) for p in proxies
                    if p != "no-proxy"]
        rows.append(row)
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(lines)


def ceiling_text(samples, proxies):
    """How far ahead of the best peer kha could be if its user space cost nothing. On
    one machine that the client, the backends and the proxy share to saturation, a
    rate goes as 1 / (CPU per operation of all three); kha's kernel part (the system
    calls and the TCP work they carry) is what any proxy on the kernel's sockets pays."""
    peers = peers_of(proxies)
    if "kha" not in proxies or not peers:
        return ""
    med = medians(samples, proxies, [k for k, *_ in METRICS])
    parts = []
    for rate, what, label in (("rps", "req", "requests/s"), ("conn_rate", "conn", "new connections/s")):
        keys = [f"{what}_cpu_us", f"{what}_user_us", f"{what}_rest_us"]
        rated = [p for p in peers if med[p].get(rate) and all(med[p].get(k) for k in keys)]
        if not rated or not all(med["kha"].get(k) for k in keys):
            continue
        best = max(rated, key=lambda p: med[p][rate])
        peer_total = med[best][keys[0]] + med[best][keys[2]]
        kha_total = med["kha"][keys[0]] + med["kha"][keys[2]]
        kha_kernel = med["kha"][keys[0]] - med["kha"][keys[1]] + med["kha"][keys[2]]
        parts.append(f"{label} {peer_total / kha_total:.2f}x of {best} from the CPU split, "
                     f"at most {peer_total / kha_kernel:.2f}x with kha's user space at zero")
    if not parts:
        return ""
    return "Ceiling (CPU per operation, proxy + client + backends): " + "; ".join(parts) + "."


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--mem-reps", type=int)
    ap.add_argument("--idle-conns", type=int, default=5000,
                    help="idle sessions held for the memory row; below every proxy's session cap "
                         "at the 20,000 open-files limit (kha's is 6,000, proxy/session_cap.h)")
    ap.add_argument("--kha", default="")
    ap.add_argument("--client", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma list of proxies")
    ap.add_argument("--kha-copy", action="store_true",
                    help="add kha-copy, kha with --no-splice (its copy path)")
    ap.add_argument("--aa", action="store_true",
                    help="add haproxy-aa, a second identical HAProxy, as a noise control")
    ap.add_argument("--skip", default="", help="comma list of phases: bulk,http,mem")
    ap.add_argument("--sockmap", default="",
                    help="add sockmap, the kernel-relay probe at this path (http phase, needs root)")
    args = ap.parse_args()
    reps = args.reps or (1 if args.quick else 5)
    secs = args.seconds or (4 if args.quick else 10)
    mem_reps = args.mem_reps or (1 if args.quick else 3)
    if not (1 <= reps <= 20 and 1 <= secs <= 120 and 1 <= mem_reps <= 10
            and 1 <= args.idle_conns <= 5900):
        print("bench: --reps 1..20, --seconds 1..120, --mem-reps 1..10, "
              "--idle-conns 1..5900", file=sys.stderr)
        return 2
    proxies = [p for p in PROXIES if (p != "haproxy-aa" or args.aa)
               and (p != "kha-copy" or args.kha_copy) and (p != "sockmap" or args.sockmap)]
    if args.only:
        proxies = [p for p in proxies if p in args.only.split(",")]
    if "kha" in proxies and not (args.kha and os.access(args.kha, os.X_OK)):
        log(f"kha binary not found at '{args.kha}': running without kha")
        proxies = [p for p in proxies if not p.startswith("kha")]
    skip = set(filter(None, args.skip.split(",")))
    workdir = os.path.abspath(args.out)
    os.makedirs(workdir, exist_ok=True)
    for p in [IPERF_PORT] + HTTP_PORTS + [listen_port(x, ph) for x in proxies
                                          for ph in PHASES if x != "no-proxy"]:
        if not bl.port_free(p):
            raise BenchError(f"port {p} on {bl.HOST} is in use")

    samples = {p: {} for p in proxies}
    load = []

    def add(proxy, key, value):
        samples[proxy].setdefault(key, []).append(value)

    started = []
    try:
        # ---- bulk throughput and CPU per Gbit/s
        if "bulk" not in skip:
            log(f"bulk: iperf3 server on {IPERF_PORT}")
            iperf = bl.Proc("iperf3", ["iperf3", "-s", "-p", str(IPERF_PORT), "-B", bl.HOST],
                            os.path.join(workdir, "iperf3-server.log"))
            started.append(iperf)
            bl.wait_port(IPERF_PORT, 5, iperf.popen)
            time.sleep(0.5)
            bulkers = [p for p in proxies if runs(p, "bulk")]
            bulk = {p: Proxy(p, "bulk", [IPERF_PORT], args, workdir) for p in bulkers}
            for p in bulkers:
                bulk[p].start()
            for rep in range(reps):
                order = bulkers[rep % len(bulkers):] + bulkers[:rep % len(bulkers)]
                for p in order:
                    px = bulk[p]
                    g1 = run_iperf(px.port, 1, secs, workdir)
                    pids = px.pids()
                    c0, t0 = bl.cpu_seconds(pids), time.monotonic()
                    g8 = run_iperf(px.port, 8, secs, workdir)
                    cores = (bl.cpu_seconds(pids) - c0) / (time.monotonic() - t0)
                    add(p, "bulk1_gbps", g1)
                    add(p, "bulk8_gbps", g8)
                    if p != "no-proxy" and g8:
                        add(p, "cpu_pct_per_gbps", 100 * cores / g8)
                    load.append(os.getloadavg()[0])
                    log(f"rep {rep + 1} {p:15s} bulk1 {fmt(g1, '{:.1f}')} "
                        f"bulk8 {fmt(g8, '{:.1f}')} Gbit/s, proxy cores {cores:.2f}")
            for p in bulkers:
                bulk[p].stop()
            iperf.stop()
            started.remove(iperf)

        # ---- HTTP backends for requests, connections and memory
        if not {"http", "mem"} <= skip:
            backends = bl.start_nginx("backends", bl.nginx_http_backends_cfg(HTTP_PORTS, workdir),
                                      workdir, "backends")
            started.append(backends)
            for port in HTTP_PORTS:
                bl.wait_http_ok(port, 10, backends.popen)

        if "http" not in skip:
            http = {p: Proxy(p, "http", HTTP_PORTS, args, workdir) for p in proxies}
            for p in proxies:
                http[p].start()
                bl.wait_http_ok(http[p].port, 10)
            for rep in range(reps):
                order = proxies[rep % len(proxies):] + proxies[:rep % len(proxies)]
                for p in order:
                    # Each test also splits the machine's CPU: the proxy's (user space
                    # and kernel) and the rest's (client and backends), per request or
                    # connection; RESULTS.md uses them to bound what a proxy can reach.
                    pids = http[p].pids()
                    cpu0 = measure_cpu(pids, backends)
                    w = run_wrk(http[p].port, secs, 2, 64)
                    if w["requests"]:
                        add_cpu_split(add, p, "req", measure_cpu(pids, backends), cpu0, w["requests"])
                    time.sleep(0.5)
                    cpu0 = measure_cpu(pids, backends)
                    c = run_connrate(args.client, http[p].port, secs, 32) if runs(p, "connrate") else {}
                    if c.get("conns"):
                        add_cpu_split(add, p, "conn", measure_cpu(pids, backends), cpu0, c["conns"])
                    time.sleep(1.0)
                    add(p, "rps", w["rps"])
                    add(p, "p50_us", w["p50_us"])
                    add(p, "p99_us", w["p99_us"])
                    add(p, "wrk_errors", w["errors"])
                    add(p, "conn_rate", c.get("rate"))
                    add(p, "conn_errors", c.get("errors"))
                    load.append(os.getloadavg()[0])
                    log(f"rep {rep + 1} {p:15s} {fmt(w['rps'], '{:,.0f}')} req/s "
                        f"p50 {fmt(w['p50_us'], '{:.0f}')} us p99 {fmt(w['p99_us'], '{:.0f}')} us"
                        f" (errors {w['errors']}); {fmt(c.get('rate'), '{:,.0f}')} conn/s "
                        f"(errors {c.get('errors')})")
            for p in proxies:
                http[p].stop()

        if "mem" not in skip:
            for rep in range(mem_reps):
                for p in proxies:
                    if p == "no-proxy" or not runs(p, "mem"):
                        continue
                    m = run_idle_memory(Proxy(p, "mem", HTTP_PORTS, args, workdir),
                                        args.client, args.idle_conns, workdir)
                    for k in ("pss_kib_per_conn", "rss_kib_per_conn"):
                        add(p, k, m[k])
                    add(p, "pipes_idle", m["pipes_after"] - m["pipes_before"])
                    add(p, "fds_per_conn", (m["fds_after"] - m["fds_before"]) / max(m["held"], 1))
                    add(p, "mem_detail", m)
                    log(f"rep {rep + 1} {p:15s} held {m['held']} (errors {m['hold_errors']}):"
                        f" Pss {m['pss_kib_per_conn']:.2f} KiB/conn, RSS "
                        f"{m['rss_kib_per_conn']:.2f} KiB/conn, fds {m['fds_before']}->"
                        f"{m['fds_after']}, pipes {m['pipes_before']}->{m['pipes_after']}")
                    time.sleep(2.0)
    finally:
        for px in LIVE:
            px.stop()
        for proc in reversed(started):
            proc.stop()

    with open(os.path.join(workdir, "samples.json"), "w") as f:
        json.dump({"reps": reps, "seconds": secs, "mem_reps": mem_reps,
                   "idle_conns": args.idle_conns, "load1": load, "samples": samples}, f,
                  indent=1)
    print()
    print(f"Medians of {reps} interleaved rounds ({secs} s per test), idle memory: "
          f"median of {mem_reps} at {args.idle_conns} sessions. 1-min load average during "
          f"the run: min {min(load, default=0):.2f}, max {max(load, default=0):.2f}.")
    print()
    text = table(samples, proxies)
    print(text)
    ceiling = ceiling_text(samples, proxies)
    if ceiling:
        print()
        print(ceiling)
    with open(os.path.join(workdir, "table.md"), "w") as f:
        f.write(text + "\n" + (f"\n{ceiling}\n" if ceiling else ""))
    return 0


def _interrupt(*_):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: every process started is stopped
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
