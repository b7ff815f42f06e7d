"""Integration tests of weft-get: against weft-httpd, against
`python3 -m http.server`, and against small scripted servers that send
chunked, close-delimited, interim, truncated, malformed or no responses.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from tests.integration import http_helpers as H


def get(*args, timeout=H.TIMEOUT):
    return subprocess.run([H.prog("weft-get")] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout + 30)    # past any --timeout


class Scripted:
    """Accepts one connection on a free port, reads the request head,
    sends `reply` (bytes, or a list of (bytes, delay) pieces), then closes
    unless hold is set."""

    def __init__(self, reply, hold=False):
        self.reply, self.hold = reply, hold
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.ls.settimeout(H.TIMEOUT)
        self.port = self.ls.getsockname()[1]
        self.request = b""
        self.done = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            c, _ = self.ls.accept()
        except OSError:
            return
        with c:
            c.settimeout(H.TIMEOUT)
            while b"\r\n\r\n" not in self.request:
                b = c.recv(4096)
                if not b:
                    break
                self.request += b
            pieces = self.reply if isinstance(self.reply, list) else \
                [(self.reply, 0)]
            try:
                for data, delay in pieces:
                    time.sleep(delay)
                    c.sendall(data)
            except OSError:
                pass
            if self.hold:
                self.done.wait(H.TIMEOUT)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.done.set()
        self.ls.close()
        self.t.join(H.TIMEOUT)


class TestAgainstWeftHttpd(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="weft-get-test-")
        cls.files = H.make_site(cls.tmp)
        cls.srv = H.Server(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        rc, err = cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, err

    def test_get_to_stdout(self):
        r = get(self.srv.url("/hello.txt"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.files["hello.txt"])
        self.assertEqual(r.stderr, b"")

    def test_host_name(self):
        r = get("http://localhost:%d/hello.txt" % self.srv.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.files["hello.txt"])

    def test_output_file_big(self):
        out = os.path.join(self.tmp, "out.bin")
        r = get(self.srv.url("/big.bin"), "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            got = f.read()
        self.assertEqual(hashlib.sha256(got).digest(),
                         hashlib.sha256(self.files["big.bin"]).digest())

    def test_verbose(self):
        r = get("-v", self.srv.url("/hello.txt"), "--timeout",
                "%d" % H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"> GET /hello.txt HTTP/1.1", r.stderr)
        self.assertIn(b"< HTTP/1.1 200 OK", r.stderr)
        self.assertIn(b"< Content-Length: 13", r.stderr)

    def test_not_found(self):
        r = get(self.srv.url("/missing"))
        self.assertEqual(r.returncode, 4)
        self.assertIn(b"404 Not Found", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_directory_index(self):
        r = get(self.srv.url("/sub/"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.files["sub/index.html"])


class TestAgainstPythonHttpServer(unittest.TestCase):

    def test_python_http_server(self):
        tmp = tempfile.mkdtemp(prefix="weft-get-py-")
        try:
            files = H.make_site(tmp)
            port = H.free_port()
            p = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind",
                 "127.0.0.1", "--directory", tmp],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + H.TIMEOUT
                while True:
                    try:
                        socket.create_connection(("127.0.0.1", port),
                                                 timeout=1).close()
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                base = "http://127.0.0.1:%d" % port
                r = get(base + "/hello.txt")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, files["hello.txt"])
                r = get(base + "/big.bin")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, files["big.bin"])
                r = get(base + "/nothing")
                self.assertEqual(r.returncode, 4)
                self.assertIn(b"404", r.stderr)
            finally:
                p.terminate()
                p.wait(H.TIMEOUT)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TestScripted(unittest.TestCase):

    def run_against(self, reply, *args, hold=False):
        s = Scripted(reply, hold=hold)
        try:
            r = get(s.url("/x"), *args)
        finally:
            s.close()
        return r, s.request

    def test_request_is_well_formed(self):
        r, req = self.run_against(b"HTTP/1.1 204 No Content\r\n\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        head = req.split(b"\r\n")
        self.assertEqual(head[0], b"GET /x HTTP/1.1")
        self.assertIn(b"Host: 127.0.0.1:%d" % int(
            req.split(b"Host: 127.0.0.1:")[1].split(b"\r\n")[0]), head)

    def test_chunked(self):
        r, _ = self.run_against([
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0),
            (b"5;ext=1\r\nhello\r\n", 0.05), (b"7\r\n, world\r\n", 0.05),
            (b"0\r\nX-Trailer: t\r\n\r\n", 0.05)], hold=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"hello, world")

    def test_close_delimited(self):
        body = os.urandom(100000)
        r, _ = self.run_against(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                b"\r\n" + body)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, body)

    def test_interim_response_skipped(self):
        r, _ = self.run_against(b"HTTP/1.1 100 Continue\r\n\r\n"
                                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                b"\r\nok", hold=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"ok")

    def test_content_length_split_reads(self):
        r, _ = self.run_against([(b"HTTP/1.0 200 OK\r\nContent-Len", 0),
                                 (b"gth: 6\r\n\r\nab", 0.05),
                                 (b"cdef", 0.05)], hold=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"abcdef")

    def test_truncated_body(self):
        r, _ = self.run_against(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                                b"\r\nonly this")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"malformed response", r.stderr)

    def test_malformed_status_line(self):
        r, _ = self.run_against(b"HTTP/9.9 two hundred\r\n\r\n")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"bad status line", r.stderr)

    def test_malformed_header(self):
        r, _ = self.run_against(b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"malformed response", r.stderr)

    def test_bad_chunk(self):
        r, _ = self.run_against(b"HTTP/1.1 200 OK\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\nxyz\r\n")
        self.assertEqual(r.returncode, 3)

    def test_no_response(self):
        r, _ = self.run_against(b"")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"closed before a response", r.stderr)

    def test_server_error_status(self):
        r, _ = self.run_against(b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n"
                                b"\r\nbusy")
        self.assertEqual(r.returncode, 4)
        self.assertIn(b"503 Busy", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_timeout(self):
        t0 = time.monotonic()
        r, _ = self.run_against(b"", "--timeout", "1", hold=True)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"timed out", r.stderr)
        self.assertGreaterEqual(took, 1.0)      # not early
        self.assertLess(took, 10)               # 10 times it at most


class TestErrors(unittest.TestCase):

    def test_connection_refused(self):
        r = get("http://127.0.0.1:%d/" % H.free_port(), "--timeout",
                "%d" % H.TIMEOUT)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot connect", r.stderr)

    def test_usage(self):
        for args in [[], ["https://127.0.0.1/"], ["ftp://x/"], ["nonsense"],
                     ["http://127.0.0.1:99999/"], ["http://127.0.0.1/",
                                                   "--timeout", "-1"],
                     ["http://127.0.0.1/", "--bogus"]]:
            r = get(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith(b"weft-get: "), r.stderr)

    def test_help(self):
        r = get("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage: weft-get URL", r.stdout)


if __name__ == "__main__":
    unittest.main()
