#!/usr/bin/env python3
"""Balance benchmark (issue 17): where W watch-like sessions go when an apiserver fails.

Run through bench/balance.sh. One contender at a time, each scenario fresh: three
`kha standin` TLS stand-ins (fixed ports 18501-18503), the proxy (18510, kha's admin
18511) and W clients in a child process (this file with --clients) that behave like
client-go watches: one TLS connection each, GET ...?watch=true, and on EOF or reset a
new connection at once (50 ms back-off only when the connect fails). Every client
reads the stand-in's identity (X-Standin-Identity) of its watch, so the spread is
counted the same way for every contender, at the apiservers, never from kha.

- return: stand-in cp1 is killed (SIGKILL), restarted on the same port 5 s later;
  measured: time from its restart until max/min of the watches over the three
  stand-ins <= 1.2 (or "never" within --window, with the final spread), and the
  sessions the proxy closed to get there (clients' reconnects after the restart;
  kha: kha_proxy_sessions_rebalanced_total too).
- herd: cp1's /readyz turns 500 (kube-apiserver's shutdown delay); measured over
  --herd-window: the reconnects cp2 and cp3 see (from the clients' connect times),
  peak per 100 ms and per second, and how long the herd lasted.
Loopback only; every loop is bounded in time; every process is stopped.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from check_cost import Standin, kha_shipped  # noqa: E402
from failover import haproxy_tuned_cfg  # noqa: E402

STANDIN_PORTS = [18501, 18502, 18503]
NAMES = ["cp1", "cp2", "cp3"]
LISTEN, ADMIN = 18510, 18511
WATCH_PATH = b"GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: kubernetes\r\n\r\n"


def kha_variant(tweak):
    return lambda a, repo, wd: kha_shipped(a.kha, repo, LISTEN, STANDIN_PORTS, ADMIN, wd, "kha", tweak)


def _no_rebalance(fe):
    fe["rebalance"]["enabled"] = False


def _spread0(fe):
    fe["close_on_down_spread"] = "0s"


# name -> (description, scenarios, start(args, repo, workdir) -> bl.Proc)
CONTENDERS = {
    "kha": ("kha, packaging/kha.yaml (leastconn, rebalance on, close_on_down_spread 1s)",
            ("return", "herd"), kha_variant(None)),
    "kha-norebalance": ("kha, packaging/kha.yaml with rebalance.enabled: false",
                        ("return",), kha_variant(_no_rebalance)),
    "kha-spread0": ("kha, packaging/kha.yaml with close_on_down_spread: 0s",
                    ("herd",), kha_variant(_spread0)),
    "haproxy": ("HAProxy, Kubespray haproxy mode (leastconn, GET /healthz every 15s)",
                ("return", "herd"), lambda a, repo, wd: bl.start_haproxy(
                    "haproxy", bl.haproxy_kubespray_cfg(LISTEN, STANDIN_PORTS), wd, "haproxy")),
    "haproxy-tuned": ("HAProxy tuned (leastconn, GET /readyz every 1s, on-marked-down shutdown-sessions)",
                      ("herd",), lambda a, repo, wd: bl.start_haproxy(
                          "haproxy-tuned", haproxy_tuned_cfg(LISTEN, STANDIN_PORTS, "leastconn"), wd,
                          "haproxy-tuned")),
    "nginx": ("nginx, Kubespray nginx-proxy (least_conn, no active checks)",
              ("return", "herd"), lambda a, repo, wd: bl.start_nginx(
                  "nginx", bl.nginx_kubespray_cfg(LISTEN, STANDIN_PORTS, wd), wd, "nginx")),
}


# ---------------------------------------------------------------- the clients (child process)

async def watch_client(i, port, ctx, current, events, stop):
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(bl.HOST, port, ssl=ctx, server_hostname="kubernetes"), 5)
            writer.write(WATCH_PATH)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            ident = None
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"x-standin-identity:"):
                    ident = line.split(b":", 1)[1].strip().decode()
            if ident is None:
                raise OSError("no identity")
            current[i] = ident
            events.append((time.monotonic(), ident))
            while not stop.is_set() and await reader.read(65536):
                pass
        except (OSError, ssl.SSLError, EOFError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            if current[i] is None and not stop.is_set():
                await asyncio.sleep(0.05)  # a failed connect: client-go's own back-off
        finally:
            current[i] = None
            if writer is not None:
                writer.transport.abort()


async def run_clients(port, count, events_path, max_s):
    """Prints {"t", "on": {identity: watches}} every 100 ms; appends "t identity" per
    watch started to events_path. Ends on SIGTERM or after max_s."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    current, events = [None] * count, []
    tasks = [asyncio.create_task(watch_client(i, port, ctx, current, events, stop)) for i in range(count)]
    end = time.monotonic() + max_s
    with open(events_path, "w") as f:
        while not stop.is_set() and time.monotonic() < end:
            on = {}
            for c in current:
                if c is not None:
                    on[c] = on.get(c, 0) + 1
            print(json.dumps({"t": time.monotonic(), "on": on}), flush=True)
            f.writelines(f"{t:.4f} {ident}\n" for t, ident in events)
            f.flush()
            events.clear()
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        f.writelines(f"{t:.4f} {ident}\n" for t, ident in events)


class Clients:
    """The child process of W clients, and the latest spread it reported."""

    def __init__(self, count, workdir, tag, max_s):
        self.events_path = os.path.join(workdir, f"{tag}-connects.txt")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--clients", str(LISTEN),
                                      str(count), self.events_path, str(max_s)],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.on = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.on = json.loads(line)["on"]
            except ValueError:
                continue

    def counts(self):
        on = self.on
        return [on.get(n, 0) for n in NAMES]

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.counts()):
                return time.monotonic()
            if self.proc.poll() is not None:
                raise bl.BenchError("the clients exited")
            time.sleep(0.05)
        raise bl.BenchError(f"timed out ({timeout:.0f}s) waiting for {what}; spread {self.counts()}")

    def connects(self):
        """[(monotonic time, identity)] of every watch started so far."""
        with open(self.events_path) as f:
            return [(float(t), n) for t, n in (line.split() for line in f if line.strip())]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# ---------------------------------------------------------------- scenarios

def skew(counts):
    return max(counts) / min(counts) if min(counts) > 0 else float("inf")


def kha_metric(name):
    try:
        with urllib.request.urlopen(f"http://{bl.HOST}:{ADMIN}/metrics", timeout=3) as r:
            text = r.read().decode()
    except OSError:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def peak(times, width):
    """Most events in any window [t, t + width)."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - width + 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best


class Setup:
    """Three stand-ins, the proxy and W clients, all watches streaming; stop() ends all."""

    def __init__(self, name, args, repo, workdir, tag):
        self.standins, self.proxy, self.clients = [], None, None
        self.args, self.workdir, self.tag = args, workdir, tag
        taken = [p for p in STANDIN_PORTS + [LISTEN, ADMIN] if not bl.port_free(p)]
        if taken:
            raise bl.BenchError(f"ports in use on 127.0.0.1: {taken}")
        try:
            for n, p in zip(NAMES, STANDIN_PORTS):
                self.standins.append(self.standin(n, p))
            self.proxy = CONTENDERS[name][2](args, repo, workdir)
            bl.wait_port(LISTEN, 10, self.proxy.popen)
            time.sleep(3)  # noqa: the first health checks (kha: rise 2 at 250 ms)
            self.clients = Clients(args.watches, workdir, tag, args.window + args.herd_window + 120)
            self.clients.wait(lambda c: sum(c) == args.watches, 60, "every watch streaming")
        except BaseException:
            self.stop()
            raise

    def standin(self, name, port):
        return Standin(self.args.kha, name, self.workdir, listen=f"127.0.0.1:{port}",
                       extra=["--watch-interval", self.args.watch_interval])

    def stop(self):
        if self.clients:
            self.clients.stop()
        if self.proxy:
            self.proxy.stop()
        for s in self.standins:
            s.stop()


def scenario_return(s, args):
    c = s.clients
    before = c.counts()
    s.standins[0].kill()
    c.wait(lambda n: n[0] == 0 and sum(n) >= args.watches - 2, 30, "cp1's watches to move")
    moved = c.counts()
    time.sleep(args.down)  # noqa: the apiserver is away this long (a restart)
    s.standins[0] = s.standin(NAMES[0], STANDIN_PORTS[0])
    t0 = time.monotonic()
    rebalanced0 = kha_metric("kha_proxy_sessions_rebalanced_total") if s.proxy.name == "kha" else None
    ok = lambda n: sum(n) >= args.watches * 0.98 and skew(n) <= args.target  # noqa: E731
    try:
        t_bal = c.wait(ok, args.window, "balance") - t0
    except bl.BenchError:
        t_bal = None
    end = time.monotonic()
    closed = sum(1 for t, _ in c.connects() if t0 < t <= end)
    rebalanced = kha_metric("kha_proxy_sessions_rebalanced_total") if s.proxy.name == "kha" else None
    final = c.counts()
    return {"before": before, "after_kill": moved, "final": final,
            "final_skew": skew(final) if min(final) > 0 else None,  # None: a backend holds none
            "seconds_to_balance": t_bal, "window": args.window,
            "sessions_closed": closed,
            "kha_rebalanced_total": None if rebalanced is None else rebalanced - (rebalanced0 or 0)}


def scenario_herd(s, args):
    c = s.clients
    time.sleep(1)  # noqa: a quiet second before the fault
    before = c.counts()
    t0 = time.monotonic()
    s.standins[0].post("/_standin/readyz?status=500")
    time.sleep(args.herd_window)  # noqa: the observed window; connects are timestamped by the clients
    survivors = [t - t0 for t, n in c.connects() if n in NAMES[1:] and t > t0]
    survivors.sort()
    return {"before": before, "final": c.counts(), "reconnects": len(survivors),
            "peak_per_100ms": peak(survivors, 0.1), "peak_per_s": peak(survivors, 1.0),
            "first_s": survivors[0] if survivors else None,
            "last_s": survivors[-1] if survivors else None, "window": args.herd_window}


def fmt(v, spec="{:.1f}", none="-"):
    return none if v is None else spec.format(v)


def report(results, args):
    print(f"\nReturn (cp1 killed, back after {args.down:.0f} s; {args.watches} watches): "
          f"time from its return to max/min <= {args.target}")
    print(f"{'contender':16} {'before':>12} {'cp1 away':>12} {'balanced after':>15} {'closed':>7} "
          f"{'kha rebal.':>10} {'final':>12} {'skew':>6}")
    for name, r in results.items():
        x = r.get("return")
        if not x:
            continue
        bal = fmt(x["seconds_to_balance"], "{:.1f} s", f"never ({x['window']:.0f} s)")
        print(f"{name:16} {'/'.join(map(str, x['before'])):>12} {'/'.join(map(str, x['after_kill'])):>12} "
              f"{bal:>15} {x['sessions_closed']:>7} {fmt(x['kha_rebalanced_total'], '{:.0f}'):>10} "
              f"{'/'.join(map(str, x['final'])):>12} {fmt(x['final_skew'], '{:.2f}', 'inf'):>6}")
    print(f"\nHerd (cp1 /readyz 500): reconnects seen by cp2+cp3 within {args.herd_window:.0f} s")
    print(f"{'contender':16} {'on cp1':>7} {'reconnects':>10} {'peak/100ms':>10} {'peak/s':>7} "
          f"{'first s':>8} {'last s':>7} {'final':>12}")
    for name, r in results.items():
        x = r.get("herd")
        if not x:
            continue
        print(f"{name:16} {x['before'][0]:>7} {x['reconnects']:>10} {x['peak_per_100ms']:>10} "
              f"{x['peak_per_s']:>7} {fmt(x['first_s'], '{:.2f}'):>8} {fmt(x['last_s'], '{:.2f}'):>7} "
              f"{'/'.join(map(str, x['final'])):>12}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kha", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--watches", type=int, default=300, help="watch clients per contender (300)")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(CONTENDERS)}")
    ap.add_argument("--scenarios", default="return,herd")
    ap.add_argument("--window", type=float, default=90.0, help="return: seconds to wait for balance (90)")
    ap.add_argument("--down", type=float, default=5.0, help="return: seconds cp1 is away (5)")
    ap.add_argument("--target", type=float, default=1.2, help="return: max/min that counts as balanced")
    ap.add_argument("--herd-window", type=float, default=6.0, help="herd: seconds observed (6)")
    ap.add_argument("--watch-interval", default="1s", help="stand-ins' time between watch events")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.makedirs(args.out, exist_ok=True)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(CONTENDERS)
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown:
        raise SystemExit(f"balance: unknown contender(s) {unknown}; known: {', '.join(CONTENDERS)}")
    scenarios = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    results = {}
    for name in names:
        desc, kinds, _ = CONTENDERS[name]
        results[name] = {"description": desc}
        for kind in (k for k in scenarios if k in kinds):
            bl.log(f"balance: {name}, {kind}")
            s = Setup(name, args, repo, args.out, f"{name}-{kind}")
            try:
                results[name][kind] = (scenario_return if kind == "return" else scenario_herd)(s, args)
            finally:
                s.stop()
            bl.log(f"  {results[name][kind]}")
    report(results, args)
    path = os.path.join(args.out, "balance.json")
    with open(path, "w") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=1)
    print(f"\nraw: {path}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--clients":
        asyncio.run(run_clients(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])))
    else:
        main()
