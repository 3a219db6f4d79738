"""A VRRP lab made only of network namespaces that the test creates and always removes.

    <p>-br      bridge br0 + the host ends of the veth pairs (nothing in the root namespace)
    <p>-lb1     eth0 10.99.0.1/24 fd99::1/64  (02:99:00:00:00:01)
    <p>-lb2     eth0 10.99.0.2/24 fd99::2/64
    <p>-client  eth0 10.99.0.3/24 fd99::3/64

Names carry the pid and a random suffix so that parallel runs never collide. Every process
started here lives in a lab namespace; down() kills them by pid (TERM, then KILL) and deletes
the namespaces. Traffic never leaves the lab. Used by tests/integration/test_vip_*.py.
"""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

VIP = "10.99.0.100"
VIP6 = "fd99::100"
ADDR = {"lb1": "10.99.0.1", "lb2": "10.99.0.2", "client": "10.99.0.3"}
ADDR6 = {"lb1": "fd99::1", "lb2": "fd99::2", "client": "fd99::3"}
NODES = ("lb1", "lb2", "client")


def wait_until(cond, timeout, step=0.02, what="condition"):
    """Polls cond() until it returns a truthy value or timeout seconds pass (then raises)."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def unavailable_reason():
    """Why namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not shutil.which("ip"):
        return "iproute2 (ip) is not installed"
    name = f"khaprobe{os.getpid()}{random.randrange(1 << 20)}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create a network namespace: " + r.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


# A tiny HTTP server: GET /readyz answers 200 while READY_FILE exists, else 503; anything
# else answers the node's name (the "proxy" data path a client reaches through the VIP).
HTTP_SERVER = r"""
import http.server, os, sys
name, ready_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/readyz":
            code = 200 if os.path.exists(ready_file) else 503
        else:
            code = 200
        body = (name + "\n").encode()
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
import socket
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6  # dual stack: IPv4 clients arrive as ::ffff:a.b.c.d
    allow_reuse_address = True
S(("::", port), H).serve_forever()
"""

# Prints one line per VRRP packet seen on eth0: "<unix time> <src> <vrid> <prio> <hex message>".
SNIFFER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.18") + socket.inet_aton(sys.argv[1]))
print("ready", flush=True)
while True:
    p = s.recv(2048)
    ihl = (p[0] & 15) * 4
    v = p[ihl:]
    print(f"{time.time():.6f} {socket.inet_ntoa(p[12:16])} {v[1]} {v[2]} {p[8]} {v.hex()}", flush=True)
"""


class Lab:
    def __init__(self):
        self.prefix = f"kv{os.getpid() % 100000}{random.randrange(1000):03d}"
        self.dir = tempfile.mkdtemp(prefix=self.prefix + "-")
        self.procs = []
        self.sniffer = None
        self.sniff_file = None
        self.prober = None
        self.probe_file = None

    def ns(self, node):
        return f"{self.prefix}-{node}"

    def sh(self, *args, check=True):
        r = subprocess.run(list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r

    def up(self):
        br = self.ns("br")
        self.sh("ip", "netns", "add", br)
        self.sh("ip", "-n", br, "link", "set", "lo", "up")
        self.sh("ip", "-n", br, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
        self.sh("ip", "-n", br, "link", "set", "br0", "up")
        for i, n in enumerate(NODES, 1):
            ns = self.ns(n)
            self.sh("ip", "netns", "add", ns)
            self.sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.sh("ip", "-n", br, "link", "add", n, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.sh("ip", "-n", br, "link", "set", n, "master", "br0", "up")
            self.sh("ip", "-n", ns, "link", "set", "eth0", "address", f"02:99:00:00:00:0{i}")
            self.sh("ip", "-n", ns, "addr", "add", f"{ADDR[n]}/24", "dev", "eth0")
            self.sh("ip", "-n", ns, "addr", "add", f"{ADDR6[n]}/64", "dev", "eth0", "nodad")
            self.sh("ip", "-n", ns, "link", "set", "eth0", "up")
        # IPv6 link-local addresses need DAD to finish before they can source packets.
        for n in NODES:
            wait_until(lambda: "tentative" not in self.sh("ip", "-n", self.ns(n), "-6", "addr", "show", "dev", "eth0").stdout,
                       10, what=f"{n} IPv6 DAD")
        return self

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                except ProcessLookupError:
                    pass
        names = [self.ns(n) for n in NODES + ("br",)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = []
            for ns in names:
                r = self.sh("ip", "netns", "pids", ns, check=False)
                pids += [int(x) for x in r.stdout.split()]
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + 3
            while pids and time.monotonic() < end and any(self._alive(pid) for pid in pids):
                time.sleep(0.05)
        for p in self.procs:
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        for f in [self.sniff_file, self.probe_file] + [getattr(p, "log", None) for p in self.procs]:
            if f:
                f.close()
        for ns in names:
            self.sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _read(path):
        with open(path) as f:
            return f.read()

    @staticmethod
    def _alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    def spawn(self, node, args, log_name):
        log = open(os.path.join(self.dir, log_name), "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(node)] + list(args), stdout=log, stderr=subprocess.STDOUT)
        p.log = log
        self.procs.append(p)
        return p

    def log_text(self, log_name):
        return self._read(os.path.join(self.dir, log_name))

    def run(self, node, args, timeout=10):
        return subprocess.run(["ip", "netns", "exec", self.ns(node)] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    # --- VIP and services ---------------------------------------------------------------
    def has_addr(self, node, addr=VIP):
        fam = "-6" if ":" in addr else "-4"
        out = self.sh("ip", "-n", self.ns(node), fam, "addr", "show", "dev", "eth0").stdout
        return f" {addr}/" in out

    def holders(self, addr=VIP):
        return [n for n in ("lb1", "lb2") if self.has_addr(n, addr)]

    def start_http(self, node, port=8080, ready=True):
        ready_file = os.path.join(self.dir, f"{node}.ready")
        self.set_ready(node, ready)
        return self.spawn(node, [sys.executable, "-c", HTTP_SERVER, node, ready_file, str(port)], f"{node}.http{port}.log")

    def set_ready(self, node, ready):
        path = os.path.join(self.dir, f"{node}.ready")
        if ready:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)

    def client_get(self, addr=VIP, port=8080, timeout=0.5):
        """The name of the node answering HTTP on addr:port from the client namespace, or ''."""
        host = f"[{addr}]" if ":" in addr else addr
        code = ("import urllib.request,sys\n"
                f"try: print(urllib.request.urlopen('http://{host}:{port}/id', timeout={timeout}).read().decode().strip())\n"
                "except Exception as e: print('')")
        return self.run("client", [sys.executable, "-c", code]).stdout.strip()

    def admin_get(self, node, port, path="/status"):
        code = ("import urllib.request\n"
                f"print(urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=2).read().decode())")
        r = self.run(node, [sys.executable, "-c", code])
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return json.loads(r.stdout) if path == "/status" else r.stdout

    # --- kha vip and keepalived ---------------------------------------------------------
    def start_kha(self, node, priority, *extra, vrid=51, address=f"{VIP}/24", admin_port=9099, name=None):
        args = [os.environ["KHA_BIN"], "vip", "--interface", "eth0", "--vrid", str(vrid), "--priority", str(priority),
                "--address", address, "--admin", f"127.0.0.1:{admin_port}", *extra]
        p = self.spawn(node, args, name or f"{node}.kha.log")
        wait_until(lambda: p.poll() is not None or "vrrp_start" in self.log_text(name or f"{node}.kha.log"), 10,
                   what=f"kha vip start on {node}")
        if p.poll() is not None:
            raise RuntimeError(f"kha vip on {node} exited: {self.log_text(name or f'{node}.kha.log')}")
        return p

    def keepalived_conf(self, node, priority, unicast_peer=None, vrid=51, address=f"{VIP}/24", track_weight=None):
        lines = ["global_defs {", f"  router_id {node}", "  vrrp_version 3", "  vrrp_garp_master_delay 1",
                 "  vrrp_garp_master_repeat 3", "  script_user root", "  enable_script_security", "}"]
        if track_weight is not None:
            # The same check as kha's --track-url: GET /readyz on the local proxy, 2xx = pass.
            script = os.path.join(self.dir, f"{node}.chk_readyz.sh")
            with open(script, "w") as f:
                f.write("#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/8081 || exit 1\n"
                        "printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3\nhead -1 <&3 | grep -q ' 2[0-9][0-9] '\n")
            os.chmod(script, 0o755)
            lines += ["vrrp_script chk_readyz {", f'  script "{script}"', "  interval 1", "  timeout 1", "  fall 2",
                      "  rise 2", f"  weight {track_weight}", "}"]
        lines += [f"vrrp_instance VI_{vrid} {{", "  state BACKUP", "  interface eth0", f"  virtual_router_id {vrid}",
                  f"  priority {priority}", "  advert_int 1"]
        if track_weight is not None:
            lines += ["  track_script {", "    chk_readyz", "  }"]
        if unicast_peer:
            lines += [f"  unicast_src_ip {ADDR[node]}", "  unicast_peer {", f"    {unicast_peer}", "  }"]
        lines += ["  virtual_ipaddress {", f"    {address} dev eth0", "  }", "}"]
        return "\n".join(lines) + "\n"

    def start_keepalived(self, node, priority, unicast_peer=None, track_weight=None, log_name=None):
        """Starts keepalived (-P vrrp only, -n foreground). Returns (parent Popen, vrrp child pid)."""
        d = self.dir
        log_name = log_name or f"{node}.keepalived.log"
        conf = os.path.join(d, f"{node}.keepalived.conf")
        with open(conf, "w") as f:
            f.write(self.keepalived_conf(node, priority, unicast_peer, track_weight=track_weight))
        vrrp_pid = os.path.join(d, f"{node}.vrrp.pid")
        if os.path.exists(vrrp_pid):
            os.unlink(vrrp_pid)
        p = self.spawn(node, ["keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", os.path.join(d, f"{node}.ka.pid"),
                              "-r", vrrp_pid, "-c", os.path.join(d, f"{node}.chk.pid"), "-i", node],
                       log_name)
        wait_until(lambda: os.path.exists(vrrp_pid) and self._read(vrrp_pid).strip(), 10, what="keepalived vrrp pid")
        child = int(self._read(vrrp_pid).strip())
        wait_until(lambda: "Entering BACKUP STATE" in self.log_text(log_name), 10,
                   what="keepalived in BACKUP")
        return p, child

    # --- observing adverts --------------------------------------------------------------
    def start_sniffer(self):
        """Records every multicast VRRP packet seen from the client namespace."""
        path = os.path.join(self.dir, "adverts.txt")
        self.sniff_file = open(path, "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("client"), sys.executable, "-c", SNIFFER, ADDR["client"]],
                             stdout=self.sniff_file, stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_until(lambda: "ready" in self._read(path), 10, what="sniffer ready")
        self.sniffer = path

    def adverts(self):
        """[(time, src, vrid, prio, ttl, hex message)] seen so far."""
        out = []
        with open(self.sniffer) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 6:
                    out.append((float(parts[0]), parts[1], int(parts[2]), int(parts[3]), int(parts[4]), parts[5]))
        return out

    def first_advert_after(self, t, src, prio=None):
        for a in self.adverts():
            if a[0] >= t and a[1] == src and (prio is None or a[3] == prio):
                return a
        return None

    def last_advert_before(self, t, src):
        last = None
        for a in self.adverts():
            if a[0] < t and a[1] == src:
                last = a
        return last

    def start_prober(self, seconds, addr=VIP, port=8080):
        """From the client: one short TCP request to addr:port every 20 ms for at most seconds;
        records "<unix time> <answering node or ->"."""
        path = os.path.join(self.dir, "probes.txt")
        code = ("import socket,sys,time\n"
                f"end=time.time()+{seconds}\n"
                "while time.time()<end:\n"
                "  t=time.time(); name='-'\n"
                "  try:\n"
                f"    s=socket.create_connection(('{addr}',{port}),timeout=0.2); s.settimeout(0.3)\n"
                "    s.sendall(b'GET /id HTTP/1.0\\r\\n\\r\\n'); data=b''\n"
                "    while True:\n"
                "      c=s.recv(4096)\n"
                "      if not c: break\n"
                "      data+=c\n"
                "    s.close(); name=data.decode().strip().split()[-1]\n"
                "  except Exception: pass\n"
                "  print(f'{t:.6f} {name}',flush=True); time.sleep(0.02)\n")
        self.probe_file = open(path, "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("client"), sys.executable, "-c", code],
                             stdout=self.probe_file, stderr=subprocess.STDOUT)
        self.procs.append(p)
        self.prober = path
        return p

    def first_answer_after(self, t, node):
        for line in self._read(self.prober).splitlines():
            parts = line.split()
            if len(parts) == 2 and float(parts[0]) >= t and parts[1] == node:
                return float(parts[0])
        return None

    def send_raw(self, node, message_hex, ttl=255):
        """Sends a hand-made VRRP message from node to 224.0.0.18 with the given TTL."""
        code = ("import socket,sys\n"
                "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,112)\n"
                "s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,b'eth0')\n"
                f"s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,{ttl})\n"
                f"s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('{ADDR[node]}'))\n"
                f"s.sendto(bytes.fromhex('{message_hex}'),('224.0.0.18',0))\n")
        r = self.run(node, [sys.executable, "-c", code])
        if r.returncode != 0:
            raise RuntimeError(r.stderr)


def vrrp_message(src, vrid, prio, addrs, dst="224.0.0.18", interval_cs=100, version=3, bad_checksum=False):
    """Builds a VRRP message the way the RFC says (independent of kha's codec)."""
    body = struct.pack("!BBBBH", (version << 4) | 1, vrid, prio, len(addrs), interval_cs & 0x0FFF)
    a = b"".join(socket.inet_aton(x) for x in addrs)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 112, 8 + len(a))
    data = pseudo + body + b"\0\0" + a
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    ck = ~s & 0xFFFF
    if bad_checksum:
        ck ^= 1
    return (body + struct.pack("!H", ck) + a).hex()
