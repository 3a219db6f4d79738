"""Shared helpers for kha's benchmarks (bench/run.sh, bench/failover.sh).

Python 3 standard library only. Owns: process start/stop with deadlines,
port waits, /proc readings (CPU, memory, descriptors), and the proxy configs
(HAProxy, nginx stream, kha) the benchmarks compare. Traffic is loopback only.
"""

import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import time

HOST = "127.0.0.1"
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


class BenchError(RuntimeError):
    pass


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def wait_port(port, timeout=10.0, proc=None):
    """Waits until 127.0.0.1:port accepts a TCP connection; raises on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"process {proc.args[0]} exited with {proc.returncode} "
                             f"before port {port} opened")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"port {port} did not open within {timeout}s")


def http_get(port, path="/", timeout=2.0):
    """One HTTP/1.0 GET on 127.0.0.1:port; returns (status, body) or raises OSError."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


def wait_http_ok(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            status, _ = http_get(port)
            if status == 200:
                return
            last = f"status {status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise BenchError(f"no HTTP 200 through port {port} within {timeout}s ({last})")


class Proc:
    """A started process; stop() sends SIGTERM, waits, then SIGKILLs."""

    def __init__(self, name, args, logfile, stdin=None, stdout=None):
        self.name = name
        self.log = open(logfile, "ab")
        self.popen = subprocess.Popen(args, stdin=stdin, stdout=stdout or self.log,
                                      stderr=self.log, start_new_session=True)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def pids(self):
        """The process and its direct children (nginx workers)."""
        return [self.pid] + children(self.pid)

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=10.0):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGCONT)
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self.log.close()


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_seconds(pids):
    """utime+stime of all threads of these processes, in seconds."""
    return sum(cpu_split(pids))


def cpu_split(pids):
    """(user, system) seconds of all threads of these processes."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return user / tick, system / tick


def children_cpu_seconds():
    """CPU of the children this process has waited for (wrk, the C++ client)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def memory_kib(pids):
    """(sum VmRSS, sum Pss) in KiB over these processes."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def fd_counts(pids):
    """(open descriptors, of which pipes) over these processes."""
    fds = pipes = 0
    for pid in pids:
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in names:
            fds += 1
            try:
                if os.readlink(f"/proc/{pid}/fd/{name}").startswith("pipe:"):
                    pipes += 1
            except OSError:
                pass
    return fds, pipes


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def require(binary):
    path = shutil.which(binary)
    if not path:
        raise BenchError(f"{binary} not found (bench/run.sh installs it)")
    return path


# ---------------------------------------------------------------- configs

def haproxy_bench_cfg(listen, backends, splice=False, check=True):
    """HAProxy 2.6 as a plain TCP balancer (roundrobin, TCP checks)."""
    servers = "\n".join(
        f"  server b{i} {HOST}:{p}{' check' if check else ''}"
        for i, p in enumerate(backends, 1))
    return f"""global
  maxconn 9500
  maxpipes 400
defaults
  mode tcp
  maxconn 9500
  timeout connect 1s
  timeout client 3h
  timeout server 3h
listen bench
  bind {HOST}:{listen}
  balance roundrobin
{'  option splice-auto' if splice else ''}
{servers}
"""


def haproxy_document_cfg(listen, backends):
    """The source document's example (ha-mode.md), on loopback ports."""
    servers = "\n".join(
        f"  server master{i} {HOST}:{p} check check-ssl verify none inter 10000"
        for i, p in enumerate(backends, 1))
    return f"""global
  maxconn 9500
  maxpipes 400
listen kubernetes-apiserver-https
  bind {HOST}:{listen}
  mode tcp
  option log-health-checks
  timeout client 3h
  timeout server 3h
{servers}
  balance roundrobin
"""


def haproxy_kubespray_cfg(listen, backends):
    """Kubespray's loadbalancer haproxy.cfg.j2 (loadbalancer_apiserver_type:
    haproxy), with loopback ports; the healthz frontend is left out."""
    servers = "\n".join(
        f"  server host{i} {HOST}:{p} check check-ssl verify none"
        for i, p in enumerate(backends, 1))
    return f"""global
  maxconn 4000
defaults
  mode http
  option dontlognull
  option http-server-close
  option redispatch
  retries 5
  timeout http-request 5m
  timeout queue 5m
  timeout connect 30s
  timeout client 5m
  timeout server 15m
  timeout http-keep-alive 30s
  timeout check 30s
  maxconn 4000
frontend kube_api_frontend
  bind {HOST}:{listen}
  mode tcp
  default_backend kube_api_backend
backend kube_api_backend
  mode tcp
  balance leastconn
  default-server inter 15s downinter 15s rise 2 fall 2 slowstart 60s maxconn 1000 maxqueue 256 weight 100
  option httpchk GET /healthz
  http-check expect status 200
{servers}
"""


def nginx_kubespray_cfg(listen, backends, workdir):
    """Kubespray's loadbalancer nginx.conf.j2 (stream, least_conn,
    proxy_timeout 10m, proxy_connect_timeout 1s). worker_rlimit_nofile is
    20000 (the machine's hard limit) instead of Kubespray's 130048."""
    servers = "\n".join(f"    server {HOST}:{p};" for p in backends)
    return f"""load_module {NGINX_STREAM_MODULE};
error_log {workdir}/nginx-stream-error.log notice;
pid {workdir}/nginx-stream-{listen}.pid;
daemon off;
worker_processes 2;
worker_rlimit_nofile 20000;
worker_shutdown_timeout 10s;
events {{
  multi_accept on;
  use epoll;
  worker_connections 16384;
}}
stream {{
  upstream kube_apiserver {{
    least_conn;
{servers}
  }}
  server {{
    listen        {HOST}:{listen};
    proxy_pass    kube_apiserver;
    proxy_timeout 10m;
    proxy_connect_timeout 1s;
  }}
}}
"""


def nginx_http_backends_cfg(ports, workdir, workers=1):
    """Small HTTP backends: one nginx, a tiny body on each port."""
    servers = "\n".join(
        f"  server {{ listen {HOST}:{p} backlog=4096; location / {{ return 200 \"ok\\n\"; }} }}"
        for p in ports)
    return f"""error_log {workdir}/nginx-backends-error.log warn;
pid {workdir}/nginx-backends.pid;
daemon off;
worker_processes {workers};
worker_rlimit_nofile 20000;
events {{
  worker_connections 16000;
  multi_accept on;
}}
http {{
  access_log off;
  default_type text/plain;
  keepalive_timeout 600s;
  keepalive_requests 100000000;
  client_header_timeout 600s;
  client_body_temp_path {workdir}/tmp;
  proxy_temp_path {workdir}/tmp;
  fastcgi_temp_path {workdir}/tmp;
  uwsgi_temp_path {workdir}/tmp;
  scgi_temp_path {workdir}/tmp;
{servers}
}}
"""


def start_nginx(name, cfg_text, workdir, tag):
    path = os.path.join(workdir, f"{tag}.conf")
    with open(path, "w") as f:
        f.write(cfg_text)
    os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
    return Proc(name, ["nginx", "-e", os.path.join(workdir, f"{tag}-startup.log"),
                       "-p", workdir, "-c", path],
                os.path.join(workdir, f"{tag}.log"))


def start_haproxy(name, cfg_text, workdir, tag):
    path = os.path.join(workdir, f"{tag}.cfg")
    with open(path, "w") as f:
        f.write(cfg_text)
    return Proc(name, ["haproxy", "-db", "-f", path], os.path.join(workdir, f"{tag}.log"))


def start_kha(name, kha_bin, listen, backends, workdir, tag, check="tcp", admin=None,
              extra=()):
    args = [kha_bin, "proxy", "--listen", f"{HOST}:{listen}"]
    for p in backends:
        args += ["--backend", f"{HOST}:{p}"]
    args += ["--health-check", check]
    if admin:
        args += ["--admin", f"{HOST}:{admin}"]
    args += list(extra)
    return Proc(name, args, os.path.join(workdir, f"{tag}.log"))
