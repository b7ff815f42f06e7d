"""Idle-connection memory: how many bytes of server RSS one idle TCP
connection costs, for weft-echo and for nginx (one worker, Debian package).

For each server and each repetition (interleaved: weft, nginx, weft, ...):
start the server on 127.0.0.1 and a free port, pinned to CPU 0; read its
VmRSS from /proc/PID/status; open N connections from a client pinned to
CPU 1 that sends nothing; wait until the server holds all N descriptors and
its RSS is steady; read VmRSS again; close everything and stop the server.
bytes/conn = (after - before) / N.  Medians over the repetitions.

The last line is
  RESULT bench=idle weft=<B/conn> peer=nginx:<B/conn>
         ratio=<nginx/weft> unit=B
(a ratio of 1 or more means weft uses less memory per idle connection).
"""

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on port %d" % port)


def pin(cpu):
    """preexec_fn pinning a child to one CPU, when there are two."""
    def f():
        if os.cpu_count() and os.cpu_count() > 1:
            os.sched_setaffinity(0, {cpu})
    return f


class Weft:
    name = "weft"

    def __init__(self, bindir, tmp):
        self.exe = os.path.join(bindir, "weft-echo")
        if not os.access(self.exe, os.X_OK):
            raise RuntimeError("%s not built (run make)" % self.exe)

    def start(self, port):
        self.proc = subprocess.Popen(
            [self.exe, "--listen",
             "tcp:%d:interface=127.0.0.1:backlog=4096" % port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=pin(0))
        wait_port(port, self.proc)
        return self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile %(nofile)d;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log warn;
events { worker_connections %(conns)d; }
http {
    access_log off;
    client_body_temp_path %(tmp)s/body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    client_header_timeout 600s;
    keepalive_timeout 600s;
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        location / { return 200 "ok\\n"; }
    }
}
"""


class Nginx:
    name = "nginx"

    def __init__(self, exe, tmp):
        self.exe = exe or shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(self.exe, os.X_OK):
            raise RuntimeError("no nginx at %s (scripts/deps.sh bench "
                               "installs nginx-light)" % self.exe)
        self.tmp = tmp

    def start(self, port):
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"tmp": self.tmp, "port": port,
                                  "conns": self.conns * 2 + 100,
                                  "nofile": self.conns * 2 + 100})
        self.proc = subprocess.Popen(
            [self.exe, "-c", conf, "-p", self.tmp, "-e",
             os.path.join(self.tmp, "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=pin(0))
        try:
            wait_port(port, self.proc)
        except RuntimeError as e:
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError("nginx cannot start: %s %s" % (e, err))
        return self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)   # graceful shutdown
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stderr.close()


CLIENT = r"""
import os, resource, socket, sys, time
n, port = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
socks = []
for i in range(n):
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    socks.append(s)
print("ready", flush=True)
sys.stdin.readline()       # hold them until told to close
for s in socks:
    s.close()
"""


def measure(server, n, settle):
    """Returns bytes of server RSS per idle connection for one run."""
    port = free_port()
    pid = server.start(port)
    client = None
    try:
        time.sleep(settle)     # let start-up allocations finish
        fds0 = fd_count(pid)
        before = rss_bytes(pid)
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(n), str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            preexec_fn=pin(1))
        line = client.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("client failed to open %d connections" % n)
        deadline = time.monotonic() + 30
        while fd_count(pid) < fds0 + n:
            if time.monotonic() > deadline:
                raise RuntimeError("%s accepted only %d of %d connections" %
                                   (server.name, fd_count(pid) - fds0, n))
            time.sleep(0.05)
        # RSS steady: two equal readings settle/2 apart.
        after = rss_bytes(pid)
        while True:
            time.sleep(settle / 2)
            again = rss_bytes(pid)
            if again == after:
                break
            after = again
        return (after - before) / n
    finally:
        if client:
            try:
                client.stdin.write(b"close\n")
                client.stdin.close()
                client.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                client.kill()
                client.wait(5)
            client.stdout.close()
        server.stop()


def main():
    ap = argparse.ArgumentParser(
        prog="bench/run idle",
        description="Server RSS per idle TCP connection: weft-echo against "
                    "nginx (1 worker).  Last line: RESULT bench=idle "
                    "weft=B/conn peer=nginx:B/conn ratio=nginx/weft "
                    "unit=B (1 or more: weft uses less).")
    ap.add_argument("-n", "--connections", type=int, default=5000,
                    help="idle connections per run (default 5000)")
    ap.add_argument("-r", "--repeat", type=int, default=3,
                    help="runs per server, interleaved (default 3)")
    ap.add_argument("--bin", default=os.environ.get(
        "WEFT_PLAIN_BIN", os.path.join(ROOT, "build", "bin")),
        help="directory holding the (non-sanitized) weft-echo "
             "(default $WEFT_PLAIN_BIN or build/bin)")
    ap.add_argument("--nginx", default=None, help="nginx binary")
    ap.add_argument("--settle", type=float, default=0.5,
                    help="seconds to let RSS settle (default 0.5)")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 200
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
        except (ValueError, OSError):
            pass
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        sys.exit("idle: need %d file descriptors, the limit is %d" %
                 (need, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))

    tmp = tempfile.mkdtemp(prefix="weft-bench-idle-")
    try:
        try:
            weft = Weft(args.bin, tmp)
        except RuntimeError as e:
            sys.exit("idle: %s" % e)
        try:
            nginx = Nginx(args.nginx, tmp)
            nginx.conns = args.connections
        except RuntimeError as e:
            print("idle: %s" % e, flush=True)
            nginx = None
        results = {"weft": [], "nginx": []}
        for rep in range(args.repeat):
            for server in (weft, nginx):
                if server is None:
                    continue
                try:
                    b = measure(server, args.connections, args.settle)
                except RuntimeError as e:
                    if server is weft:
                        raise
                    print("idle: %s" % e, flush=True)
                    nginx = None
                    continue
                results[server.name].append(b)
                print("run %d %-5s %5d conns: %7.0f bytes/conn" %
                      (rep + 1, server.name, args.connections, b), flush=True)
        w = statistics.median(results["weft"])
        if results["nginx"]:
            g = statistics.median(results["nginx"])
            print("median weft %.0f B/conn, nginx %.0f B/conn; "
                  "nginx/weft = %.2f (>= 1 means weft uses less)" %
                  (w, g, g / w if w else float("inf")))
            print("RESULT bench=idle weft=%.0f peer=nginx:%.0f "
                  "ratio=%.2f unit=B" % (w, g, g / w if w else 0))
        else:
            print("RESULT bench=idle weft=%.0f peer=nginx:none "
                  "ratio=none unit=B" % w)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
