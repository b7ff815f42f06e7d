"""Shared pieces of the weft-httpd / weft-get integration tests: starting a
server on a free port (tcp:0, the port read from its "listening on" line),
a demo document root, raw-socket requests and response parsing.

Programs come from $WEFT_BIN (default build/asan/bin).  Every socket and
process wait has a timeout; every process is stopped by its own handle.
"""

import os
import socket
import time

from tests.integration import procs

# The tests use these through this module (H.TIMEOUT, H.free_port, ...).
TIMEOUT = procs.TIMEOUT
SANITIZER_MARKS = procs.SANITIZER_MARKS
free_port = procs.free_port
prog = procs.prog


class Server(procs.Proc):
    """weft-httpd on 127.0.0.1 with a free port; stderr collected by a
    thread so sanitizer reports can be checked at the end."""

    def __init__(self, root, *extra):
        super().__init__(
            [prog("weft-httpd"), "--listen", "tcp:0:interface=127.0.0.1",
             "--root", root] + list(extra))
        try:
            self.port = self.wait_port(TIMEOUT)
        except AssertionError:
            self.kill()
            raise

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def rss_kb(self):
        return procs.rss_bytes(self.pid) // 1024


def make_site(root):
    """The test document root; returns {name: bytes} of its files."""
    files = {
        "index.html": b"<!doctype html><title>weft</title><p>hello\n",
        "hello.txt": b"hello, world\n",
        "style.css": b"body { color: black }\n",
        "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "data.unknownext": b"??\n",
        "a b.txt": b"space in the name\n",
        "sub/index.html": b"<p>sub\n",
        "sub/page.txt": b"page in sub\n",
        "empty.txt": b"",
        "nodir/readme.txt": b"no index here\n",
        "big.bin": os.urandom(300 * 1024),          # above the cache limit
        "mid.bin": os.urandom(32 * 1024),           # cached in memory
    }
    for name, data in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return files


def connect(port, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_all(s, timeout=TIMEOUT):
    """Everything until the peer closes (or the timeout)."""
    s.settimeout(timeout)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            b = s.recv(1 << 16)
        except ConnectionResetError:
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status, self.reason, self.headers = status, reason, headers
        self.body, self.version = body, version

    def header(self, name):
        return self.headers.get(name.lower())


class Reader:
    """Reads responses one after another from a socket (or from bytes)."""

    def __init__(self, sock=None, data=b""):
        self.sock, self.buf = sock, data

    def _more(self):
        if not self.sock:
            raise EOFError("no more data")
        b = self.sock.recv(1 << 16)
        if not b:
            raise EOFError("connection closed")
        self.buf += b

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def _exactly(self, n):
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read(self, head=False):
        """One final response (1xx ones are returned too: check status)."""
        version, status, reason = (self._line().split(" ", 2) + [""])[:3]
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        status = int(status)
        body = b""
        if head or status in (204, 304) or 100 <= status < 200:
            pass
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self._line().split(";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._exactly(size)
                self._exactly(2)
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        else:
            try:
                while True:
                    self._more()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
        return Response(status, reason, headers, body, version)


def closed_by_peer(s, timeout=5.0):
    """True if the peer closes the connection within timeout (any unread
    data is discarded)."""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not s.recv(1 << 16):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False

