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
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)
from tests.integration import procs  # noqa: E402  (after the path)


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
            preexec_fn=procs.pin(0))
        procs.wait_port(port, self.proc)
        return self.proc.pid

    def stop(self):
        procs.stop(self.proc, timeout=15)


class Nginx:
    name = "nginx"

    def __init__(self, exe, tmp):
        self.exe = exe or shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(self.exe, os.X_OK):
            raise RuntimeError("no nginx at %s (scripts/deps.sh bench "
                               "installs nginx-light)" % self.exe)
        self.tmp = tmp

    def start(self, port):
        argv = procs.nginx_argv(
            self.exe, self.tmp, port, self.conns * 2 + 100,
            server='location / { return 200 "ok\\n"; }',
            http="client_header_timeout 600s;")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=procs.pin(0))
        try:
            procs.wait_port(port, self.proc)
        except RuntimeError as e:
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError("nginx cannot start: %s %s" % (e, err))
        return self.proc.pid

    def stop(self):
        procs.stop(self.proc, signal.SIGQUIT, 15)   # graceful shutdown
        self.proc.stderr.close()


def measure(server, n, settle):
    """Returns bytes of server RSS per idle connection for one run: the
    client, pinned to CPU 1, sends nothing."""
    port = procs.free_port()
    pid = server.start(port)
    try:
        return procs.rss_per_idle_connection(pid, port, n, settle=settle,
                                             cpu=1)
    finally:
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
