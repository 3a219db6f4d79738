#!/usr/bin/env python3
"""What one load-balancer instance's health checks cost each apiserver (issue 16).

Every contender runs at once, each in front of its own three TLS stand-in apiservers
(`kha standin`, which counts new connections, full and resumed TLS handshakes,
handshakes the client cut short after the server's work was done, and requests on its
data listener): kha with the shipped config (packaging/kha.yaml, only
the addresses changed), kha in flag form (--health-check https), HAProxy as the seed
document's example and as Kubespray's haproxy mode, and nginx (Kubespray's, no active
checks). After a warm-up the counters are read twice, `--seconds` apart; the rates
are per instance per apiserver per second, averaged over the three stand-ins, and
extrapolated to a fleet (one instance per node). Counts events, not timings.
"""

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

FLEETS = (500, 5000, 15000)
# kube-apiserver's CPU per event, measured with a Go server and its TLS settings
# (issue 16): full handshake RSA-2048, resumed handshake, GET on a kept-alive connection.
CPU_MS = {"full": 2.9, "resumed": 0.8, "request": 0.18}


class Standin:
    """One `kha standin` (TLS, self-signed). listen and control default to free ports;
    fixed ones let a killed stand-in come back on the same port (an apiserver restart,
    fleet_sim.py and balance.py); `extra`: more flags (e.g. --watch-interval)."""

    def __init__(self, kha, name, workdir, listen="127.0.0.1:0", control="127.0.0.1:0", timeout=10.0, extra=()):
        log = open(os.path.join(workdir, f"standin-{name}.log"), "a")
        self.proc = subprocess.Popen([kha, "standin", "--name", name, "--listen", listen,
                                      "--control", control, *extra], stdout=subprocess.PIPE, stderr=log)
        log.close()
        try:
            lines = read_lines(self.proc, 2, timeout)
        except bl.BenchError:
            self.kill()
            raise
        self.port = int(lines[0].split(":")[-1])
        self.control = int(lines[1].split(":")[-1])

    def state(self, timeout=5.0):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.control}/_standin/state", timeout=timeout) as r:
            return json.load(r)

    def kill(self):
        """SIGKILL, as an apiserver that crashes: its connections end, its port refuses."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def post(self, path):
        """POST on the control listener, e.g. /_standin/readyz?status=500."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}{path}", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(10)


def read_lines(proc, count, timeout):
    """The first `count` lines of proc's stdout (a pipe), or BenchError after timeout."""
    deadline = time.monotonic() + timeout
    data = b""
    while data.count(b"\n") < count:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise bl.BenchError(f"{proc.args[0]} {proc.args[1]} printed {data!r} within {timeout}s "
                              f"(exit {proc.poll()})")
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            data += chunk
    return data.decode().splitlines()[:count]


def kha_shipped(kha, repo, listen, ports, admin, workdir, tag, overrides=None, tweak=None):
    """packaging/kha.yaml with its addresses replaced, the top-level keys of `overrides`
    set (e.g. workers) and `tweak` (a function of the frontend's dict) applied; every
    other setting as shipped."""
    with open(os.path.join(repo, "packaging", "kha.yaml")) as f:
        doc = yaml.safe_load(f)
    doc.update(overrides or {})
    doc["admin"]["listen"] = f"127.0.0.1:{admin}"
    fe = doc["frontends"][0]
    fe["listen"] = [f"127.0.0.1:{listen}"]
    fe["backends"] = [{"name": f"cp{i}", "address": f"127.0.0.1:{p}"} for i, p in enumerate(ports, 1)]
    if tweak:
        tweak(fe)
    path = os.path.join(workdir, f"{tag}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return bl.Proc(tag, [kha, "proxy", "--config", path], os.path.join(workdir, f"{tag}.log"))


def contenders(args, repo, workdir, ports_of, listen_of):
    return {
        "kha (packaging/kha.yaml)": lambda t: kha_shipped(args.kha, repo, listen_of(t), ports_of(t),
                                                          listen_of(t) + 1, workdir, t),
        "kha (--health-check https)": lambda t: bl.start_kha(t, args.kha, listen_of(t), ports_of(t), workdir, t,
                                                             check="https"),
        "HAProxy (seed document: check-ssl, inter 10s)": lambda t: bl.start_haproxy(
            t, bl.haproxy_document_cfg(listen_of(t), ports_of(t)), workdir, t),
        "HAProxy (Kubespray: GET /healthz, inter 15s)": lambda t: bl.start_haproxy(
            t, bl.haproxy_kubespray_cfg(listen_of(t), ports_of(t)), workdir, t),
        "nginx (Kubespray: no active checks)": lambda t: bl.start_nginx(
            t, bl.nginx_kubespray_cfg(listen_of(t), ports_of(t), workdir), workdir, t),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kha", required=True)
    ap.add_argument("--seconds", type=float, default=120.0, help="measured window (default 120)")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--only", default="", help="comma-separated substrings of contender names")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    workdir = args.out or tempfile.mkdtemp(prefix="kha-check-cost-")
    os.makedirs(workdir, exist_ok=True)
    standins, procs = {}, []
    base = 24000 + (os.getpid() % 200) * 10
    tags = {}
    try:
        names = list(contenders(args, repo, workdir, None, None))
        if args.only:
            names = [n for n in names if any(o.strip().lower() in n.lower() for o in args.only.split(","))]
        for i, name in enumerate(names):
            tag = f"c{i}"
            tags[tag] = name
            standins[tag] = [Standin(args.kha, f"{tag}-cp{j}", workdir) for j in (1, 2, 3)]
        listen_of = lambda t: base + 2 * int(t[1:])  # noqa: E731 (listen, then admin port)
        ports_of = lambda t: [s.port for s in standins[t]]  # noqa: E731
        made = contenders(args, repo, workdir, ports_of, listen_of)
        for tag, name in tags.items():
            procs.append(made[name](tag))
        time.sleep(args.warmup)  # noqa: the checks settle (first connections, rise)
        for tag, p in zip(tags, procs):
            if not p.alive():
                raise bl.BenchError(f"{tags[tag]} exited; see {workdir}/{tag}.log")
        before = {t: [s.state() for s in ss] for t, ss in standins.items()}
        bl.log(f"check-cost: measuring {args.seconds:.0f}s, {len(tags)} contenders at once")
        time.sleep(args.seconds)  # noqa: the measured window; events are counted, not timed
        after = {t: [s.state() for s in ss] for t, ss in standins.items()}
    finally:
        for p in procs:
            p.stop()
        for ss in standins.values():
            for s in ss:
                s.stop()
    keys = (("connections", "new TLS conn"), ("handshakes_full", "full hs"),
            ("handshakes_resumed", "resumed hs"), ("handshakes_incomplete", "cut hs"),
            ("data_requests", "requests"))
    rows = {}
    for tag, name in tags.items():
        rate = {}
        for k, _ in keys:
            rate[k] = sum(a[k] - b[k] for a, b in zip(after[tag], before[tag])) / 3 / args.seconds
        rows[name] = rate
    print(f"\nPer instance, per apiserver, per second ({args.seconds:.0f}s window, 3 TLS stand-ins each):")
    print(f"{'contender':48} " + " ".join(f"{label:>13}" for _, label in keys))
    for name, r in rows.items():
        print(f"{name:48} " + " ".join(f"{r[k]:13.4f}" for k, _ in keys))
    print("\nFleet (one instance per node), per apiserver per second: full handshakes / resumed / requests"
          " (apiserver CPU at the issue's Go figures: 2.9 ms full RSA, 0.8 ms resumed, 0.18 ms request)")
    for name, r in rows.items():
        parts = []
        for n in FLEETS:
            cpu = n * ((r["handshakes_full"] + r["handshakes_incomplete"]) * CPU_MS["full"] + r["handshakes_resumed"] * CPU_MS["resumed"]
                       + r["data_requests"] * CPU_MS["request"]) / 1000
            parts.append(f"{n} nodes: {n * (r['handshakes_full'] + r['handshakes_incomplete']):.0f}/{n * r['handshakes_resumed']:.0f}/"
                         f"{n * r['data_requests']:.0f} ({cpu:.2f} cores)")
        print(f"{name:48} " + "  ".join(parts))
    with open(os.path.join(workdir, "check-cost.json"), "w") as f:
        json.dump({"seconds": args.seconds, "rates": rows}, f, indent=1)
    print(f"\nraw: {workdir}/check-cost.json")


if __name__ == "__main__":
    main()
