#!/usr/bin/env python3
"""Failover benchmark: what clients see when one of three apiservers fails.

Run through bench/failover.sh. For each proxy and each fault, fresh: three
stand-in HTTPS apiservers (bench/tools/standin.py), the proxy in front of
them, 30 long-lived watch streams, and a client opening a new TLS connection
every 20 ms (GET /version, answered with the backend's name). After --pre
seconds one backend is faulted (hang = SIGSTOP, kill = SIGKILL, red = /readyz
answers 500), and the client runs --post seconds more. Loopback only; every
loop is bounded in count and time.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from benchlib import BenchError, log  # noqa: E402

STANDIN_PORTS = [18301, 18302, 18303]
NAMES = ["b1", "b2", "b3"]
FAULTED = 1  # index of the backend that fails: b2
KHA_ADMIN = 18390
PROXIES = ["kha", "haproxy-doc", "haproxy-kubespray", "haproxy-tuned", "nginx-kubespray"]
FAULTS = ["hang", "kill", "red"]
HANG_S = 5.0       # a request without an answer after this long is "hung"
SLOW_S = 0.15      # an answer slower than this was delayed by the fault
INTERVAL_S = 0.02  # one new TLS connection every 20 ms
WATCHES = 30


def listen_port(proxy):
    return 18400 + PROXIES.index(proxy)


def haproxy_tuned_cfg(listen, backends, balance="roundrobin"):
    """An expert's HAProxy: /readyz checks every second, sessions shut on down."""
    servers = "\n".join(
        f"  server b{i} {bl.HOST}:{p} check check-ssl verify none" for i, p in
        enumerate(backends, 1))
    return f"""global
  maxconn 9500
  maxpipes 400
defaults
  mode tcp
  timeout connect 1s
  timeout client 3h
  timeout server 3h
  timeout check 1s
  retries 3
  option redispatch
listen apiserver
  bind {bl.HOST}:{listen}
  balance {balance}
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


def start_proxy(kind, args, workdir, kha_check=None):
    port = listen_port(kind)
    tag = f"fo-{kind}"
    if kind == "haproxy-doc":
        return bl.start_haproxy(kind, bl.haproxy_document_cfg(port, STANDIN_PORTS), workdir, tag)
    if kind == "haproxy-kubespray":
        return bl.start_haproxy(kind, bl.haproxy_kubespray_cfg(port, STANDIN_PORTS), workdir, tag)
    if kind == "haproxy-tuned":
        return bl.start_haproxy(kind, haproxy_tuned_cfg(port, STANDIN_PORTS), workdir, tag)
    if kind == "nginx-kubespray":
        return bl.start_nginx(kind, bl.nginx_kubespray_cfg(port, STANDIN_PORTS, workdir),
                              workdir, tag)
    if kind == "kha":
        return bl.start_kha(kind, args.kha, port, STANDIN_PORTS, workdir, tag,
                            check=kha_check or args.kha_check, admin=KHA_ADMIN,
                            extra=args.kha_args.split())
    raise BenchError(f"unknown proxy {kind}")


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # as the document's "verify none"
    return ctx


def backend_of(head):
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"x-backend:"):
            return line.split(b":", 1)[1].strip().decode()
    return None


async def one_request(port, ctx, loop, results):
    rec = {"start": loop.time(), "end": None, "backend": None, "outcome": None}
    results.append(rec)
    writer = None
    try:
        async def go():
            nonlocal writer
            reader, writer = await asyncio.open_connection(
                bl.HOST, port, ssl=ctx, server_hostname="kubernetes")
            writer.write(b"GET /version HTTP/1.1\r\nHost: kubernetes\r\nConnection: close\r\n\r\n")
            return await reader.read()
        data = await asyncio.wait_for(go(), HANG_S)
        rec["end"] = loop.time()
        head = data.split(b"\r\n\r\n", 1)[0]
        rec["backend"] = backend_of(head)
        rec["outcome"] = "ok" if head.startswith(b"HTTP/1.1 200") else "failed"
    except asyncio.TimeoutError:
        rec["outcome"] = "hung"
    except (OSError, ssl.SSLError, EOFError, asyncio.IncompleteReadError) as e:
        rec["end"] = loop.time()
        rec["outcome"] = "failed"
        rec["error"] = type(e).__name__
    finally:
        if writer is not None:
            writer.transport.abort()


async def one_watch(port, ctx, loop, rec):
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            bl.HOST, port, ssl=ctx, server_hostname="kubernetes"), HANG_S)
        writer.write(b"GET /watch HTTP/1.1\r\nHost: kubernetes\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG_S)
        rec["backend"] = backend_of(head)
        rec["opened"] = loop.time()
        for _ in range(100000):  # bounded; the scenario cancels it at the end
            if not await reader.readline():
                break
        rec["end"] = loop.time()
    except asyncio.CancelledError:
        raise
    except (OSError, ssl.SSLError, EOFError, asyncio.TimeoutError,
            asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        rec["end"] = loop.time()
        rec["error"] = type(e).__name__
    finally:
        if writer is not None:
            writer.transport.abort()


async def drive(port, pre, post, fault):
    """Runs watches and the request stream; calls fault() after `pre` seconds."""
    loop = asyncio.get_running_loop()
    ctx = client_ctx()
    watches = [{"backend": None, "end": None} for _ in range(WATCHES)]
    watch_tasks = []
    for rec in watches:
        watch_tasks.append(asyncio.create_task(one_watch(port, ctx, loop, rec)))
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    results, tasks = [], []
    t0 = loop.time()
    fault_at = None
    n_total = int((pre + post) / INTERVAL_S)
    for i in range(n_total):
        target = t0 + i * INTERVAL_S
        if fault_at is None and target >= t0 + pre:
            fault()
            fault_at = loop.time()
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one_request(port, ctx, loop, results)))
    await asyncio.gather(*tasks)
    for t in watch_tasks:
        t.cancel()
    await asyncio.gather(*watch_tasks, return_exceptions=True)
    return results, watches, fault_at, t0


def summarize(results, watches, fault_at, post):
    faulted = NAMES[FAULTED]
    before = [r for r in results if r["start"] < fault_at]
    after = [r for r in results if r["start"] >= fault_at]

    def hit(r):
        return r["outcome"] in ("failed", "hung") or r["backend"] == faulted
    hits = [r["start"] - fault_at for r in after if hit(r)]
    last_hit = max(hits) if hits else 0.0
    pinned = [w for w in watches if w.get("backend") == faulted]
    closed = [w["end"] - fault_at for w in pinned if w["end"] is not None and w["end"] >= fault_at]
    others_closed = sum(1 for w in watches if w.get("backend") not in (None, faulted)
                        and w["end"] is not None)
    return {
        "requests_before": len(before),
        "failed_before": sum(r["outcome"] == "failed" for r in before),
        "hung_before": sum(r["outcome"] == "hung" for r in before),
        "slow_before": sum(r["end"] is not None and r["end"] - r["start"] > SLOW_S
                           for r in before),
        "requests_after": len(after),
        "failed": sum(r["outcome"] == "failed" for r in after),
        "hung": sum(r["outcome"] == "hung" for r in after),
        "slow": sum(r["outcome"] == "ok" and r["end"] - r["start"] > SLOW_S for r in after),
        "served_by_faulted": sum(r["backend"] == faulted for r in after),
        "last_hit_s": last_hit,
        "still_hit_at_end": bool(hits) and last_hit >= post - 1.0,
        "watches_pinned": len(pinned),
        "watches_closed": len(closed),
        "watch_close_max_s": max(closed) if closed else None,
        "watches_unplaced": sum(1 for w in watches if w.get("backend") is None),
        "other_watches_closed": others_closed,
    }


def run_scenario(kind, fault, args, workdir, cert, key):
    total = args.pre + args.post + 60
    standins = []
    proxy = None
    try:
        for name, port in zip(NAMES, STANDIN_PORTS):
            standins.append(bl.Proc(name, [sys.executable, args.standin, "--port", str(port),
                                           "--name", name, "--cert", cert, "--key", key,
                                           "--max-seconds", str(total)],
                                    os.path.join(workdir, f"standin-{name}.log")))
        for s, port in zip(standins, STANDIN_PORTS):
            bl.wait_port(port, 10, s.popen)
        checks = [args.kha_check] + [c for c in ("tcp",) if c != args.kha_check]
        for attempt, check in enumerate(checks if kind == "kha" else [None]):
            if check:
                args.kha_check_used = check
            proxy = start_proxy(kind, args, workdir, check)
            try:
                bl.wait_port(listen_port(kind), 10, proxy.popen)
                break
            except BenchError as e:
                proxy.stop()
                proxy = None
                if attempt + 1 == len(checks) or kind != "kha":
                    raise
                log(f"  kha with --health-check {check} did not start ({e}); trying the next")
        time.sleep(args.settle)  # first round of health checks
        victim = standins[FAULTED]

        def do_fault():
            if fault == "hang":
                victim.signal(signal.SIGSTOP)
            elif fault == "kill":
                victim.signal(signal.SIGKILL)
            elif fault == "red":
                victim.signal(signal.SIGUSR1)
        results, watches, fault_at, _ = asyncio.run(
            asyncio.wait_for(drive(listen_port(kind), args.pre, args.post, do_fault),
                             args.pre + args.post + 30))
        return summarize(results, watches, fault_at, args.post)
    finally:
        if proxy is not None:
            proxy.stop()
        for s in standins:
            s.stop()


def fmt_time(s, never):
    if never:
        return "never"
    return f"{s:.1f}"


def table(rows):
    head = ["Proxy", "Fault", "Requests", "Failed", "Hung", "Slow >150ms (before)", "To faulted",
            "Last hit (s)", "Watches pinned", "Closed", "Close max (s)"]
    out = []
    for kind, fault, m in rows:
        if m is None:
            out.append([kind, fault] + ["error"] * (len(head) - 2))
            continue
        out.append([kind, fault, m["requests_after"], m["failed"], m["hung"],
                    f"{m['slow']} ({m['slow_before']})",
                    m["served_by_faulted"],
                    fmt_time(m["last_hit_s"], m["still_hit_at_end"]),
                    m["watches_pinned"], m["watches_closed"],
                    "-" if m["watch_close_max_s"] is None else f"{m['watch_close_max_s']:.1f}"])
    widths = [max(len(str(r[i])) for r in out + [head]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in out:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pre", type=float, default=3.0)
    ap.add_argument("--post", type=float)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--kha", default="")
    ap.add_argument("--kha-check", default="https")
    ap.add_argument("--kha-args", default="")
    ap.add_argument("--standin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--faults", default=",".join(FAULTS))
    args = ap.parse_args()
    args.post = args.post or (10.0 if args.quick else 20.0)
    if not (1 <= args.pre <= 30 and 5 <= args.post <= 120 and 0 <= args.settle <= 30):
        print("failover: --pre 1..30, --post 5..120, --settle 0..30", file=sys.stderr)
        return 2
    proxies = [p for p in PROXIES if not args.only or p in args.only.split(",")]
    if "kha" in proxies and not (args.kha and os.access(args.kha, os.X_OK)):
        log(f"kha binary not found at '{args.kha}': running without kha")
        proxies.remove("kha")
    faults = [f for f in args.faults.split(",") if f in FAULTS]
    workdir = os.path.abspath(args.out)
    os.makedirs(workdir, exist_ok=True)
    for p in STANDIN_PORTS + [listen_port(x) for x in proxies]:
        if not bl.port_free(p):
            raise BenchError(f"port {p} on {bl.HOST} is in use")
    cert, key = os.path.join(workdir, "standin.crt"), os.path.join(workdir, "standin.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=kubernetes",
                    "-addext", "subjectAltName=DNS:kubernetes,DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    rows = []
    stop = []  # SIGTERM/SIGINT: finish the current scenario, clean up, print what we have
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    for fault in faults:
        for kind in proxies:
            if stop:
                break
            try:
                m = run_scenario(kind, fault, args, workdir, cert, key)
            except (BenchError, asyncio.TimeoutError) as e:
                log(f"{kind} {fault}: {e}")
                m = None
            if m and kind == "kha":
                m["kha_check"] = getattr(args, "kha_check_used", args.kha_check)
            rows.append((kind, fault, m))
            if m:
                log(f"{kind:18s} {fault:5s} failed {m['failed']} hung {m['hung']} slow {m['slow']}"
                    f" to-faulted {m['served_by_faulted']} last-hit "
                    f"{fmt_time(m['last_hit_s'], m['still_hit_at_end'])} s; watches "
                    f"{m['watches_closed']}/{m['watches_pinned']} closed, max "
                    f"{m['watch_close_max_s']}; before fault: failed {m['failed_before']} "
                    f"hung {m['hung_before']} slow {m['slow_before']}")
    with open(os.path.join(workdir, "failover.json"), "w") as f:
        json.dump([{"proxy": k, "fault": fl, "result": m} for k, fl, m in rows], f, indent=1)
    print()
    print(f"One run each; fault on {NAMES[FAULTED]} after {args.pre:.0f} s, observed "
          f"{args.post:.0f} s; a request every {INTERVAL_S * 1000:.0f} ms, {WATCHES} watches; "
          f"hung = no answer within {HANG_S:.0f} s.")
    used = {m.get("kha_check") for k, _, m in rows if k == "kha" and m}
    if used:
        print(f"kha ran with --health-check {', '.join(sorted(used))}.")
    print()
    text = table(rows)
    print(text)
    with open(os.path.join(workdir, "failover.md"), "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"failover: {e}", file=sys.stderr)
        sys.exit(1)
