"""RSS per idle keep-alive HTTP connection: weft-httpd against nginx
(nginx-light, one worker, master_process off) serving the same file.

Each run starts the server pinned to CPU 0, reads its VmRSS, then a client
pinned to CPU 1 opens N connections, sends one GET on each, reads the whole
response and leaves the connection open (kept alive, idle); once the server
holds all N descriptors and its RSS is steady the RSS is read again.
bytes/conn = (after - before) / N.  Runs alternate weft, nginx, ...;
medians over --rounds.

Last line:
  RESULT bench=http-idle weft=<B/conn> peer=nginx:<B/conn> ratio=<weft/nginx> unit=bytes/conn
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

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, TOP)
from tests.integration import procs  # noqa: E402  (after the path)

def start(name, args, tmp, port, n):
    if name == "weft":
        cmd = [os.path.join(args.bin, "weft-httpd"), "--listen",
               "tcp:%d:interface=127.0.0.1:backlog=4096" % port,
               "--root", os.path.join(tmp, "site"), "--idle-timeout", "600"]
    else:
        cmd = procs.nginx_argv(
            "nginx", tmp, port, 2 * n + 100,
            server="root %s;" % os.path.join(tmp, "site"),
            http="sendfile on;\ntypes { text/html html; }",
            user=os.environ.get("USER") or "root")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            preexec_fn=procs.pin(0))
    procs.wait_port(port, proc)
    return proc


def measure(name, args, tmp):
    """Bytes of server RSS per idle connection for one run: the client,
    pinned to CPU 1, sends one GET on each connection and reads the whole
    response first."""
    port = procs.free_port()
    proc = start(name, args, tmp, port, args.connections)
    try:
        return procs.rss_per_idle_connection(
            proc.pid, port, args.connections, settle=0.5, steady=0.5,
            send=b"GET /index.html HTTP/1.1\r\nHost: bench\r\n\r\n",
            reply="http", cpu=1)
    finally:
        procs.stop(proc, signal.SIGTERM if name == "weft" else signal.SIGQUIT,
                   15)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get(
        "WEFT_PLAIN_BIN", os.path.join(TOP, "build", "bin")))
    args = ap.parse_args()
    want = 2 * args.connections + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < want and hard != resource.RLIM_INFINITY:
        sys.exit("need %d descriptors, hard limit is %d" % (want, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if not shutil.which("nginx"):
        sys.exit("nginx is missing (scripts/deps.sh bench)")
    tmp = tempfile.mkdtemp(prefix="weft-http-idle-")
    os.chmod(tmp, 0o755)
    try:
        os.makedirs(os.path.join(tmp, "site"))
        with open(os.path.join(tmp, "site", "index.html"), "wb") as f:
            f.write(b"x" * 1024)
        res = {"weft": [], "nginx": []}
        for r in range(args.rounds):
            for name in ("weft", "nginx"):
                b = measure(name, args, tmp)
                res[name].append(b)
                print("round %d %-5s %7.0f bytes/conn" % (r + 1, name, b),
                      flush=True)
        w = statistics.median(res["weft"])
        n = statistics.median(res["nginx"])
        print("RESULT bench=http-idle weft=%.0f peer=nginx:%.0f ratio=%.2f "
              "unit=bytes/conn" % (w, n, w / n if n else 0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
