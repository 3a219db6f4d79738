"""Failover times of kha vip and of keepalived, taken the same way in the same lab.

Not a pass/fail test: it runs only with KHA_VIP_MEASURE=N (N repetitions per case) and
prints a table (docs/vip.md holds the numbers). Otherwise it reports itself as skipped.

Method: lb1 (priority 150) and lb2 (100), advert interval 1 s; tracking (where used):
GET http://127.0.0.1:8081/readyz every 1 s, fall 2, weight 60, on both implementations.
A sniffer in the client namespace timestamps every advert; a prober in the client
namespace opens a TCP connection to VIP:8080 every 20 ms and records who answers.
For each event at time t0 (SIGSTOP of the VRRP process, SIGTERM, /readyz turned to 503):
  advert  = first advert from lb2 after t0, minus t0
  client  = first TCP answer from lb2 after t0, minus t0
  (hang only) gap = last lb1 advert before t0 -> first lb2 advert: the protocol's own bound
Between repetitions lb1 is restored and a random 0-1 s pause varies the phase of t0
against lb1's advert timer.
"""
import json
import os
import random
import signal
import statistics
import time
import unittest

from support.vip_lab import ADDR, Lab, unavailable_reason, wait_until

REPS = int(os.environ.get("KHA_VIP_MEASURE", "0") or 0)
REASON = unavailable_reason() or (None if REPS > 0 else "set KHA_VIP_MEASURE=N to measure failover times (N runs per case)")
RESULTS = {}


class Kha:
    name = "kha"

    def __init__(self, lab, track):
        self.lab, self.track, self.n = lab, track, 0

    def start(self, node, prio):
        self.n += 1
        extra = ["--track-url", "http://127.0.0.1:8081/readyz", "--track-weight", "60"] if self.track else []
        p = self.lab.start_kha(node, prio, *extra, name=f"{node}.kha{self.n}.log")
        return {"proc": p, "vrrp": p.pid}


class Keepalived:
    name = "keepalived"

    def __init__(self, lab, track):
        self.lab, self.track, self.n = lab, track, 0

    def start(self, node, prio):
        self.n += 1
        p, child = self.lab.start_keepalived(node, prio, track_weight=-60 if self.track else None,
                                             log_name=f"{node}.keepalived{self.n}.log")
        return {"proc": p, "vrrp": child}


@unittest.skipIf(REASON, REASON or "")
class VipMeasure(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        lines = ["", f"{'case':<28}{'impl':<12}{'advert s (min/med/max)':<26}{'client s (min/med/max)':<26}gap s (med)"]
        for (case, impl), rows in sorted(RESULTS.items()):
            def col(i):
                v = [r[i] for r in rows if r[i] is not None]
                return f"{min(v):.3f}/{statistics.median(v):.3f}/{max(v):.3f}" if v else "-"
            gaps = [r[2] for r in rows if r[2] is not None]
            gap = f"{statistics.median(gaps):.3f}" if gaps else "-"
            lines.append(f"{case:<28}{impl:<12}{col(0):<26}{col(1):<26}{gap}")
        print("\n".join(lines))
        out = os.environ.get("KHA_VIP_MEASURE_OUT")
        if out:
            with open(out, "w") as f:
                json.dump({f"{c}/{i}": r for (c, i), r in RESULTS.items()}, f, indent=1)

    def measure(self, impl_cls, case, track=False):
        lab = Lab().up()
        self.addCleanup(lab.down)
        lab.start_sniffer()
        for n in ("lb1", "lb2"):
            lab.start_http(n, 8080)
            lab.start_http(n, 8081)
        lab.start_prober(REPS * 25 + 30)
        impl = impl_cls(lab, track)
        lb1 = impl.start("lb1", 150)
        impl.start("lb2", 100)
        rows = RESULTS.setdefault((case, impl.name), [])
        for _ in range(REPS):
            wait_until(lambda: lab.holders() == ["lb1"], 10, what="lb1 master")
            wait_until(lambda: lab.first_answer_after(time.time() - 0.1, "lb1"), 10, step=0.05, what="client on lb1")
            time.sleep(1 + random.random())  # vary the phase of the event against lb1's advert timer
            t0 = time.time()
            if case == "hang (SIGSTOP)":
                os.kill(lb1["vrrp"], signal.SIGSTOP)
            elif case == "graceful stop (SIGTERM)":
                lb1["proc"].send_signal(signal.SIGTERM)
            else:
                lab.set_ready("lb1", False)
            adv = wait_until(lambda: lab.first_advert_after(t0, ADDR["lb2"]), 15, what="lb2 advertising")
            client = wait_until(lambda: lab.first_answer_after(t0, "lb2"), 10, step=0.05, what="client on lb2")
            gap = None
            if case == "hang (SIGSTOP)":
                gap = adv[0] - lab.last_advert_before(t0 + 0.0005, ADDR["lb1"])[0]
            rows.append((adv[0] - t0, client - t0, gap))
            if case == "hang (SIGSTOP)":
                os.kill(lb1["vrrp"], signal.SIGCONT)
            elif case == "graceful stop (SIGTERM)":
                lb1["proc"].wait(10)
                lb1 = impl.start("lb1", 150)
            else:
                lab.set_ready("lb1", True)

    def test_kha_hang(self):
        self.measure(Kha, "hang (SIGSTOP)")

    def test_keepalived_hang(self):
        self.measure(Keepalived, "hang (SIGSTOP)")

    def test_kha_graceful(self):
        self.measure(Kha, "graceful stop (SIGTERM)")

    def test_keepalived_graceful(self):
        self.measure(Keepalived, "graceful stop (SIGTERM)")

    def test_kha_proxy_failure(self):
        self.measure(Kha, "proxy /readyz fails", track=True)

    def test_keepalived_proxy_failure(self):
        self.measure(Keepalived, "proxy /readyz fails", track=True)


if __name__ == "__main__":
    unittest.main()
