"""Interop: kha vip against keepalived (Debian's, `vrrp_version 3`) in network namespaces,
with kha in each role, with multicast and with unicast peers, and byte-for-byte comparison of
the adverts both send. Skipped, with the reason, without namespaces or keepalived.
"""
import shutil
import signal
import socket
import struct
import time
import unittest

from support.vip_lab import ADDR, Lab, unavailable_reason, wait_until

REASON = unavailable_reason() or (None if shutil.which("keepalived") else "keepalived is not installed")
MOVE = 8.0


def checksum_ok(src, dst, message):
    m = bytes.fromhex(message)
    data = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 112, len(m)) + m
    data += b"\0" * (len(data) % 2)
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


@unittest.skipIf(REASON, REASON or "")
class VipKeepalivedTest(unittest.TestCase):
    def setUp(self):
        self.lab = Lab().up()
        self.addCleanup(self.lab.down)
        self.lab.start_sniffer()
        for n in ("lb1", "lb2"):
            self.lab.start_http(n, 8080)

    def keepalived_log(self, node):
        return self.lab.log_text(f"{node}.keepalived.log")

    def assert_keepalived_accepted_us(self, node):
        log = self.keepalived_log(node)
        for bad in ("Invalid VRRPv3 checksum", "invalid ttl", "wrong version", "ip address associated with VRID"):
            self.assertNotIn(bad.lower(), log.lower())

    def settle(self, node, addr_check=True):
        wait_until(lambda: self.lab.holders() == [node], MOVE, what=f"{node} holds the VIP alone")
        wait_until(lambda: self.lab.client_get() == node, 5, what=f"client reaches {node}")

    def test_kha_master_keepalived_backup_multicast(self):
        kha = self.lab.start_kha("lb1", 150)
        ka, _ = self.lab.start_keepalived("lb2", 100)
        self.settle("lb1")
        time.sleep(1.5)  # a few adverts for keepalived to judge
        self.assertEqual(self.lab.holders(), ["lb1"])
        self.assert_keepalived_accepted_us("lb2")
        # Hang: keepalived takes over after its Master_Down_Interval.
        t0 = time.time()
        kha.send_signal(signal.SIGSTOP)
        a = wait_until(lambda: self.lab.first_advert_after(t0, ADDR["lb2"]), MOVE, what="keepalived advertising")
        print(f"\nkha hang -> keepalived advertises after {a[0] - t0:.3f}s")
        wait_until(lambda: self.lab.client_get() == "lb2", 5, what="client on keepalived")
        kha.send_signal(signal.SIGCONT)
        self.settle("lb1")
        # Graceful stop: keepalived reacts to our priority 0 after its Skew_Time.
        t0 = time.time()
        kha.send_signal(signal.SIGTERM)
        self.assertEqual(kha.wait(5), 0)
        a = wait_until(lambda: self.lab.first_advert_after(t0, ADDR["lb2"]), MOVE, what="keepalived advertising")
        print(f"kha graceful stop -> keepalived advertises after {a[0] - t0:.3f}s")
        self.assertLess(a[0] - t0, 3.0)  # by priority 0, not by timeout
        self.settle("lb2")
        self.assertIn("Entering MASTER STATE", self.keepalived_log("lb2"))

    def test_keepalived_master_kha_backup_multicast(self):
        ka, child = self.lab.start_keepalived("lb1", 150)
        self.lab.start_kha("lb2", 100)
        self.settle("lb1")
        s = self.lab.admin_get("lb2", 9099)
        self.assertEqual((s["state"], s["master"]), ("backup", ADDR["lb1"]))
        self.assertEqual(sum(s["dropped"].values()), 0, s["dropped"])
        # keepalived's VRRP child hangs: kha takes over and announces (the client follows).
        t0 = time.time()
        import os
        os.kill(child, signal.SIGSTOP)
        a = wait_until(lambda: self.lab.first_advert_after(t0, ADDR["lb2"]), MOVE, what="kha advertising")
        print(f"\nkeepalived hang -> kha advertises after {a[0] - t0:.3f}s")
        wait_until(lambda: self.lab.client_get() == "lb2", 5, what="client on kha")
        os.kill(child, signal.SIGCONT)
        self.settle("lb1")  # keepalived preempts back; kha steps down
        # Graceful stop of keepalived (SIGTERM to the parent): priority 0, kha takes over fast.
        t0 = time.time()
        ka.send_signal(signal.SIGTERM)
        a = wait_until(lambda: self.lab.first_advert_after(t0, ADDR["lb2"]), MOVE, what="kha advertising")
        print(f"keepalived graceful stop -> kha advertises after {a[0] - t0:.3f}s")
        self.assertLess(a[0] - t0, 3.0)
        self.settle("lb2")

    def test_unicast_both_roles(self):
        kha = self.lab.start_kha("lb1", 150, "--peer", ADDR["lb2"])
        self.lab.start_keepalived("lb2", 100, unicast_peer=ADDR["lb1"])
        self.settle("lb1")
        self.assert_keepalived_accepted_us("lb2")
        s = self.lab.admin_get("lb1", 9099)
        self.assertGreater(s["adverts_sent"], 0)
        # Unicast adverts never reach the client's multicast sniffer.
        self.assertEqual([a for a in self.lab.adverts() if a[1] == ADDR["lb1"]], [])
        t0 = time.monotonic()
        kha.send_signal(signal.SIGSTOP)
        wait_until(lambda: self.lab.has_addr("lb2"), MOVE, what="keepalived takes over (unicast)")
        print(f"\nunicast: kha hang -> VIP on keepalived after {time.monotonic() - t0:.3f}s")
        wait_until(lambda: self.lab.client_get() == "lb2", 5, what="client on keepalived")
        kha.send_signal(signal.SIGCONT)
        self.settle("lb1")
        # Now kha as the backup of a unicast keepalived master.
        kha.send_signal(signal.SIGTERM)
        kha.wait(5)
        self.settle("lb2")
        self.lab.start_kha("lb1", 50, "--peer", ADDR["lb2"], name="lb1.kha2.log")
        wait_until(lambda: self.lab.admin_get("lb1", 9099)["adverts_received"] > 1, 5, what="kha hears keepalived (unicast)")
        s = self.lab.admin_get("lb1", 9099)
        self.assertEqual((s["state"], s["master"]), ("backup", ADDR["lb2"]))
        self.assertEqual(sum(s["dropped"].values()), 0, s["dropped"])
        self.assertEqual(self.lab.holders(), ["lb2"])

    def test_adverts_are_the_same_bytes(self):
        # keepalived alone as master, then kha alone as master, same priority and VIP.
        ka, _ = self.lab.start_keepalived("lb2", 100)
        theirs = wait_until(lambda: self.lab.first_advert_after(0, ADDR["lb2"], prio=100), MOVE, what="keepalived advert")
        ka.send_signal(signal.SIGTERM)
        ka.wait(5)
        t0 = time.time()
        self.lab.start_kha("lb1", 100)
        ours = wait_until(lambda: self.lab.first_advert_after(t0, ADDR["lb1"], prio=100), MOVE, what="kha advert")
        # Same version/type, vrid, priority, count, interval and addresses; only the checksum
        # differs, because the source address in the pseudo-header differs.
        self.assertEqual(ours[5][:12] + ours[5][16:], theirs[5][:12] + theirs[5][16:])
        self.assertEqual((ours[4], theirs[4]), (255, 255))
        self.assertTrue(checksum_ok(ADDR["lb1"], "224.0.0.18", ours[5]))
        self.assertTrue(checksum_ok(ADDR["lb2"], "224.0.0.18", theirs[5]))
        self.settle("lb1")

if __name__ == "__main__":
    unittest.main()
