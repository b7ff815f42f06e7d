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
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

CLIENT = r"""
import resource, socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
req = b"GET /index.html HTTP/1.1\r\nHost: bench\r\n\r\n"
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, body = buf.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
              if l.lower().startswith(b"content-length:")][0]
    while len(body) < length:
        body += s.recv(65536)
    socks.append(s)
print("ready", flush=True)
sys.stdin.readline()
for s in socks:
    s.close()
"""

NGINX_CONF = """\
user %(user)s;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile %(nofile)d;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log warn;
events { worker_connections %(nofile)d; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path %(tmp)s/body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    keepalive_timeout 600s;
    types { text/html html; }
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        root %(site)s;
    }
}
"""


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu):
    def f():
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {cpu})
    return f


def wait_port(port, proc):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d" % port)


def start(name, args, tmp, port, n):
    if name == "weft":
        cmd = [os.path.join(args.bin, "weft-httpd"), "--listen",
               "tcp:%d:interface=127.0.0.1:backlog=4096" % port,
               "--root", os.path.join(tmp, "site"), "--idle-timeout", "600"]
    else:
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"tmp": tmp, "port": port,
                                  "site": os.path.join(tmp, "site"),
                                  "nofile": 2 * n + 100,
                                  "user": os.environ.get("USER") or "root"})
        cmd = ["nginx", "-c", conf, "-p", tmp, "-e",
               os.path.join(tmp, "error.log")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=pin(0))
    wait_port(port, proc)
    return proc


def measure(name, args, tmp):
    n = args.connections
    port = free_port()
    proc = start(name, args, tmp, port, n)
    client = None
    try:
        time.sleep(0.5)
        fd0, before = fds(proc.pid), rss(proc.pid)
        client = subprocess.Popen([sys.executable, "-c", CLIENT, str(n),
                                   str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, preexec_fn=pin(1))
        if client.stdout.readline().strip() != b"ready":
            raise RuntimeError("client failed")
        deadline = time.monotonic() + 30
        while fds(proc.pid) < fd0 + n and time.monotonic() < deadline:
            time.sleep(0.05)
        last = -1
        while time.monotonic() < deadline:
            now = rss(proc.pid)
            if now == last:
                break
            last = now
            time.sleep(0.5)
        return (last - before) / n
    finally:
        if client:
            client.stdin.write(b"\n")
            client.stdin.close()
            client.wait(30)
        proc.send_signal(signal.SIGTERM if name == "weft" else signal.SIGQUIT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


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
