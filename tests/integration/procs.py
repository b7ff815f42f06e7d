"""Processes and sockets, shared by the integration tests
(tests/integration/*.py) and the benchmarks (bench/*/*.py): free ports,
programs started and watched until they listen, stopped by their own
handle, their /proc figures, and a child process holding idle connections.

Stdlib only, so the benchmarks' /usr/bin/python3 can import it too (they put
the repository root on sys.path).  Every wait is bounded; a process is only
ever signalled through its own Popen handle, never by name.

Programs come from $WEFT_BIN (default build/asan/bin): under `make test`
they are the AddressSanitizer builds; $WEFT_PLAIN_BIN holds the plain ones.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from signal import SIGTERM

BIN = os.environ.get("WEFT_BIN", os.path.join("build", "asan", "bin"))
PLAIN_BIN = os.environ.get("WEFT_PLAIN_BIN", os.path.join("build", "bin"))
TIMEOUT = 60.0          # generous bound for anything that should happen (ASan
                        # on a loaded machine); passing tests never wait it out
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")
# What every example program prints once per port it listens on.
LISTENING = re.compile(r"^(weft-[a-z]+): listening on (\S+)$")


def prog(name):
    return os.path.join(BIN, name)


def free_port():
    """A port nothing listens on right now (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_port(addr):
    """"tcp:127.0.0.1:4321" or "tcp6:[::1]:4321" -> 4321."""
    return int(addr.rsplit(":", 1)[1])


# ---- servers that print nothing: poll their port ---------------------------

def wait_port(port, proc, timeout=TIMEOUT, probe=None, interval=0.05):
    """Waits until something accepts on 127.0.0.1:port (and, with probe,
    until probe(sock) returns true on a fresh connection).  Raises
    RuntimeError if proc exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if probe is None or probe(s):
                    return
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError("nothing %s on port %d" %
                       ("answered" if probe else "listens", port))


def answers(request, reply):
    """A wait_port probe: the server answers `request` with `reply`."""
    def probe(s):
        s.sendall(request)
        return s.recv(len(reply) + 100) == reply
    return probe


def stop(proc, sig=SIGTERM, timeout=30.0):
    """Sends sig (if proc still runs) and waits; kills it if it does not
    exit within timeout.  Returns the exit status, or None if it had to be
    killed."""
    return stop_all([proc], sig, timeout)[0]


def stop_all(procs, sig=SIGTERM, timeout=30.0):
    """stop() for several processes, signalled all at once first."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=timeout)
            codes.append(None)
    return codes


# ---- programs whose stderr is watched --------------------------------------

class Proc:
    """A started program whose stderr is collected line by line by a thread,
    so a test can wait for its "listening on" lines and later check it for
    sanitizer reports.  argv[0] is the program's path."""

    def __init__(self, argv, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, name=None):
        self.name = name or os.path.basename(argv[0])
        self.p = subprocess.Popen(list(argv), stdin=stdin, stdout=stdout,
                                  stderr=subprocess.PIPE)
        self.pid = self.p.pid
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self):
        for raw in self.p.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_listening(self, count=1, timeout=TIMEOUT):
        """Returns the addresses of the first `count` "listening on" lines
        ("tcp:127.0.0.1:4321", "unix:/tmp/x").  Raises AssertionError if
        the program ends or the time runs out first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                addrs = [m.group(2) for m in map(LISTENING.match, self.lines)
                         if m]
                if len(addrs) >= count:
                    return addrs[:count]
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    raise AssertionError(
                        "%s: no %d listening lines; stderr: %r" %
                        (self.name, count, self.lines))
                self.cond.wait(left)

    def wait_port(self, timeout=TIMEOUT):
        """The port of the first "listening on" line (a tcp one)."""
        return tcp_port(self.wait_listening(1, timeout)[0])

    def stderr_text(self):
        """All of stderr once the program closed it (bounded wait)."""
        self.reader.join(TIMEOUT)
        with self.cond:
            return "\n".join(self.lines)

    def wait(self, timeout=TIMEOUT):
        """Waits for the exit; returns (exit status, stderr text)."""
        rc = self.p.wait(timeout)
        return rc, self.stderr_text()

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def stop(self, sig=SIGTERM, timeout=TIMEOUT):
        """Sends sig (SIGTERM: a graceful stop) and waits; a program still
        running after timeout is killed.  Returns (exit status, stderr)."""
        stop(self.p, sig, timeout)
        text = self.stderr_text()
        if not self.reader.is_alive():
            self.p.stderr.close()
        return self.p.returncode, text

    def kill(self):
        """Kills the program if it still runs and closes its pipes."""
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(TIMEOUT)
        self.reader.join(TIMEOUT)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f and (f is not self.p.stderr or not self.reader.is_alive()):
                f.close()


# ---- nginx, the benchmarks' peer -------------------------------------------

NGINX_CONF = """\
%(user)sdaemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile %(nofile)d;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log warn;
events { worker_connections %(nofile)d; }
http {
    access_log off;
    client_body_temp_path %(tmp)s/body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    keepalive_timeout 600s;
%(http)s
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
%(server)s
    }
}
"""


def nginx_argv(exe, tmp, port, nofile, server, http="", user=None):
    """Writes tmp/nginx.conf, one nginx worker in the foreground (no
    master) with its pid, logs and temporary files in tmp, listening on
    127.0.0.1:port with `server` as the server block's directives and
    `http` as extra http-level ones; returns the argv that runs it."""
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF % {
            "tmp": tmp, "port": port, "nofile": nofile,
            "user": "user %s;\n" % user if user else "",
            "http": "\n".join("    " + l for l in http.splitlines()),
            "server": "\n".join("        " + l
                                for l in server.splitlines())})
    return [exe, "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "error.log")]


# ---- /proc figures ---------------------------------------------------------

def send_until_throttled(s, chunk, limit=256 << 20):
    """Writes chunk repeated on the non-blocking socket s until the server
    stops taking bytes for 0.5 s (it paused reading) or limit bytes went;
    returns the bytes sent.  The stream stays the chunk repeated even where
    send takes part of one."""
    import select
    s.setblocking(False)
    sent = 0
    while sent < limit:
        _, w, _ = select.select([], [s], [], 0.5)
        if not w:
            break                      # blocked for 0.5 s: throttled
        try:
            sent += s.send(chunk[sent % len(chunk):])
        except BlockingIOError:
            pass
    return sent


def rss_bytes(pid):
    """Resident set size of a process, in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
    """User + system CPU seconds of a process and all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(cpu):
    """A preexec_fn pinning a child to one CPU, when there are two."""
    def f():
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {cpu})
    return f


# ---- idle connections -----------------------------------------------------

class IdleClients:
    """A child process (this file run as a script) holding n connections
    to 127.0.0.1:port open and idle, so that they cost the caller nothing:
    each first sends `send` (bytes, optional) and reads the whole reply,
    `reply` being the exact bytes expected or "http" (a response head and
    its Content-Length body).  Pinned to `cpu` if given.  A context
    manager: the connections close when it exits."""

    def __init__(self, n, port, send=None, reply=None, cpu=None,
                 timeout=10.0):
        argv = [sys.executable, os.path.abspath(__file__), "hold", str(n),
                str(port), "--timeout", str(timeout)]
        if send is not None:
            argv += ["--send", send.hex()]
        if reply is not None:
            argv += ["--reply", reply if reply == "http" else reply.hex()]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            preexec_fn=pin(cpu) if cpu is not None else None)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.close()
            raise RuntimeError("client failed to open %d connections" % n)

    def close(self):
        try:
            self.proc.stdin.write(b"close\n")
            self.proc.stdin.close()
            self.proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def rss_per_idle_connection(pid, port, n, settle=0.5, steady=None,
                            timeout=30.0, **client):
    """Bytes of server RSS one idle connection costs: sleeps `settle` (let
    start-up allocations finish), reads RSS, opens n connections with
    IdleClients(**client), waits until the server holds n more descriptors
    and its RSS is steady (two equal readings `steady` seconds apart,
    default settle/2), reads RSS again.  Returns (after - before) / n."""
    steady = settle / 2 if steady is None else steady
    time.sleep(settle)
    fds0, before = fd_count(pid), rss_bytes(pid)
    with IdleClients(n, port, **client):
        deadline = time.monotonic() + timeout
        while fd_count(pid) < fds0 + n:
            if time.monotonic() > deadline:
                raise RuntimeError("the server accepted only %d of %d "
                                   "connections" % (fd_count(pid) - fds0, n))
            time.sleep(0.05)
        after = rss_bytes(pid)
        while time.monotonic() < deadline:
            time.sleep(steady)
            again = rss_bytes(pid)
            if again == after:
                break
            after = again
    return (after - before) / n


def _read_reply(s, reply):
    buf = b""
    if reply == "http":
        while b"\r\n\r\n" not in buf:
            b = s.recv(65536)
            if not b:
                raise RuntimeError("connection closed in a response head")
            buf += b
        head, body = buf.split(b"\r\n\r\n", 1)
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")][0]
        while len(body) < length:
            b = s.recv(65536)
            if not b:
                raise RuntimeError("connection closed in a response body")
            body += b
        return
    while len(buf) < len(reply):
        b = s.recv(len(reply) - len(buf))
        if not b:
            break
        buf += b
    if buf != reply:
        raise RuntimeError("expected %r, got %r" % (reply, buf))


def _hold(argv):
    import argparse
    import resource
    ap = argparse.ArgumentParser(prog="procs.py hold")
    ap.add_argument("n", type=int)
    ap.add_argument("port", type=int)
    ap.add_argument("--send", default=None, help="hex")
    ap.add_argument("--reply", default=None, help='hex, or "http"')
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args(argv)
    send = bytes.fromhex(a.send) if a.send else None
    reply = (a.reply if a.reply in (None, "http")
             else bytes.fromhex(a.reply))
    resource.setrlimit(resource.RLIMIT_NOFILE, (a.n + 100, a.n + 100))
    socks = []
    for _ in range(a.n):
        s = socket.create_connection(("127.0.0.1", a.port),
                                     timeout=a.timeout)
        if send:
            s.sendall(send)
        if reply is not None:
            _read_reply(s, reply)
        socks.append(s)
    print("ready", flush=True)
    sys.stdin.readline()       # hold them until told to close
    for s in socks:
        s.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"]:
        _hold(sys.argv[2:])
    else:
        sys.exit("usage: procs.py hold N PORT [--send HEX] "
                 "[--reply HEX|http] [--timeout S]")
