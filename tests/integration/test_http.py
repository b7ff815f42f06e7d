"""Integration tests of weft-httpd: real clients (curl, http.client, raw
sockets) against a real server process on 127.0.0.1.

One server (with a small --max-body) serves most tests; tests that need
other options start their own.  Under `make test` the server is the
ASan+UBSan build, and every stop checks for a clean exit and no sanitizer
report.
"""

import email.utils
import hashlib
import http.client
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from tests.integration import http_helpers as H

MAX_BODY = 100000


def curl(*args, timeout=H.TIMEOUT):
    return subprocess.run(["curl", "-sS", "--max-time", "%d" % timeout] +
                          list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout + 30)


class HttpdCase(unittest.TestCase):
    """Shared server and document root for a test class."""

    extra_args = ("--max-body", str(MAX_BODY))

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="weft-httpd-test-")
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(cls.root)
        cls.files = H.make_site(cls.root)
        with open(os.path.join(cls.tmp, "secret.txt"), "wb") as f:
            f.write(b"outside the root\n")
        os.symlink(os.path.join(cls.tmp, "secret.txt"),
                   os.path.join(cls.root, "escape.txt"))
        os.symlink("hello.txt", os.path.join(cls.root, "inside-link.txt"))
        cls.srv = H.Server(cls.root, *cls.extra_args)

    @classmethod
    def tearDownClass(cls):
        rc, err = cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        for mark in H.SANITIZER_MARKS:
            assert mark not in err, err
        assert rc == 0, "weft-httpd exit status %r: %s" % (rc, err)

    def url(self, path="/"):
        return self.srv.url(path)

    def raw(self, data, timeout=H.TIMEOUT):
        """Sends data on a fresh connection, returns everything until the
        server closes."""
        with H.connect(self.srv.port) as s:
            s.sendall(data)
            return H.recv_all(s, timeout)

    def raw_status(self, data):
        """Sends one bad request; returns its status, and checks that the
        server closed the connection after answering."""
        with H.connect(self.srv.port) as s:
            s.sendall(data)
            r = H.Reader(s).read()
            self.assertTrue(H.closed_by_peer(s), "connection left open")
            self.assertEqual(r.header("connection"), "close")
            return r.status


class TestFiles(HttpdCase):

    def test_get_index(self):
        before = time.time()
        r = curl("-i", self.url("/"))
        after = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        resp = H.Reader(data=r.stdout).read()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, self.files["index.html"])
        self.assertEqual(resp.header("content-type"),
                         "text/html; charset=utf-8")
        self.assertEqual(int(resp.header("content-length")),
                         len(self.files["index.html"]))
        date = email.utils.parsedate_to_datetime(resp.header("date"))
        # The current second when it answered (Date has no fraction).
        self.assertGreaterEqual(date.timestamp(), int(before))
        self.assertLessEqual(date.timestamp(), after)
        mtime = os.stat(os.path.join(self.root, "index.html")).st_mtime
        lm = email.utils.parsedate_to_datetime(resp.header("last-modified"))
        self.assertEqual(int(lm.timestamp()), int(mtime))

    def test_head(self):
        r = curl("-I", self.url("/hello.txt"))
        self.assertEqual(r.returncode, 0, r.stderr)
        resp = H.Reader(data=r.stdout).read(head=True)
        self.assertEqual(resp.status, 200)
        self.assertEqual(int(resp.header("content-length")),
                         len(self.files["hello.txt"]))
        # HEAD carries no body: the next response follows at once.
        with H.connect(self.srv.port) as s:
            s.sendall(b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            rd = H.Reader(s)
            self.assertEqual(rd.read(head=True).body, b"")
            self.assertEqual(rd.read().body, self.files["hello.txt"])

    def test_content_types(self):
        want = {"/style.css": "text/css; charset=utf-8",
                "/hello.txt": "text/plain; charset=utf-8",
                "/logo.png": "image/png",
                "/data.unknownext": "application/octet-stream"}
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port,
                                          timeout=H.TIMEOUT)
        try:
            for path, ctype in want.items():
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, 200, path)
                self.assertEqual(resp.getheader("Content-Type"), ctype)
                self.assertEqual(body, self.files[path[1:]])
        finally:
            conn.close()

    def test_http_client_reuses_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port,
                                          timeout=H.TIMEOUT)
        try:
            conn.request("GET", "/hello.txt")
            r = conn.getresponse()
            self.assertEqual(r.read(), self.files["hello.txt"])
            sock = conn.sock
            for _ in range(5):
                conn.request("GET", "/sub/page.txt")
                r = conn.getresponse()
                self.assertEqual(r.read(), self.files["sub/page.txt"])
                self.assertIs(conn.sock, sock)   # not reconnected
            conn.request("POST", "/echo", body=b"abc")
            r = conn.getresponse()
            self.assertEqual(r.read(), b"abc")
            self.assertIs(conn.sock, sock)
        finally:
            conn.close()

    def test_curl_keep_alive_reuse(self):
        r = curl("-v", "-o", "/dev/null", "-o", "/dev/null", "-o",
                 "/dev/null", "-w", "%{num_connects}\n", self.url("/"),
                 self.url("/hello.txt"), self.url("/style.css"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [b"1", b"0", b"0"])
        self.assertIn(b"Re-using existing connection", r.stderr)

    def test_http10(self):
        r = curl("--http1.0", "-i", self.url("/hello.txt"))
        self.assertEqual(r.returncode, 0, r.stderr)
        resp = H.Reader(data=r.stdout).read()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("connection"), "close")
        self.assertEqual(resp.body, self.files["hello.txt"])
        # HTTP/1.0 without keep-alive: the server closes after answering.
        with H.connect(self.srv.port) as s:
            s.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
            data = H.recv_all(s)
        self.assertTrue(data.endswith(self.files["hello.txt"]))
        # With keep-alive it stays open and says so.
        with H.connect(self.srv.port) as s:
            rd = H.Reader(s)
            for _ in range(2):
                s.sendall(b"GET /hello.txt HTTP/1.0\r\n"
                          b"Connection: keep-alive\r\n\r\n")
                resp = rd.read()
                self.assertEqual(resp.header("connection"), "keep-alive")
                self.assertEqual(resp.body, self.files["hello.txt"])

    def test_connection_close_honoured(self):
        with H.connect(self.srv.port) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n"
                      b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            data = H.recv_all(s)
        rd = H.Reader(data=data)
        resp = rd.read()
        self.assertEqual(resp.header("connection"), "close")
        self.assertEqual(rd.buf, b"")    # the second request is not answered

    def test_directories(self):
        r = curl("-i", self.url("/sub"))
        resp = H.Reader(data=r.stdout).read()
        self.assertEqual(resp.status, 301)
        self.assertEqual(resp.header("location"), "/sub/")
        r = curl("-L", self.url("/sub"))
        self.assertEqual(r.stdout, self.files["sub/index.html"])
        r = curl("-i", self.url("/nodir/"))
        self.assertEqual(H.Reader(data=r.stdout).read().status, 404)

    def test_long_redirect(self):
        # A deep directory named with every byte percent-encoded: the 301
        # repeats a 6 KB request path in Location.
        names = [chr(ord("a") + i) * 200 for i in range(10)]
        os.makedirs(os.path.join(self.root, *names), exist_ok=True)
        path = "".join("/" + "".join("%%%02x" % ord(c) for c in n)
                       for n in names)
        with H.connect(self.srv.port) as s:
            s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            resp = H.Reader(s).read()
        self.assertEqual(resp.status, 301)
        self.assertEqual(resp.header("location"), path + "/")

    def test_not_found(self):
        r = curl("-o", "/dev/null", "-w", "%{http_code}",
                 self.url("/nothing-here.txt"))
        self.assertEqual(r.stdout, b"404")

    def test_percent_decoding_and_normalisation(self):
        for path, name in [("/a%20b.txt", "a b.txt"),
                           ("/%68ello.txt", "hello.txt"),
                           ("/sub/../hello.txt", "hello.txt"),
                           ("/sub/%2e%2e/hello.txt", "hello.txt"),
                           ("/./sub//./page.txt", "sub/page.txt"),
                           ("/sub%2fpage.txt", "sub/page.txt"),
                           ("/hello.txt?x=../../etc/passwd", "hello.txt"),
                           ("/inside-link.txt", "hello.txt")]:
            with H.connect(self.srv.port) as s:
                s.sendall(b"GET " + path.encode() +
                          b" HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = H.Reader(s).read()
            self.assertEqual(resp.status, 200, path)
            self.assertEqual(resp.body, self.files[name], path)

    def test_never_outside_root(self):
        for path in ["/../secret.txt", "/..", "/sub/../../secret.txt",
                     "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
                     "/sub/..%2f..%2fsecret.txt", "/escape.txt",
                     "/../../../../etc/passwd"]:
            with H.connect(self.srv.port) as s:
                s.sendall(b"GET " + path.encode() +
                          b" HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = H.Reader(s).read()
            self.assertIn(resp.status, (403, 404), path)
            self.assertNotIn(b"outside the root", resp.body)
            self.assertNotIn(b"root:", resp.body)
        for path in ["/%00", "/a%0ab", "/%zz", "/%4"]:
            with H.connect(self.srv.port) as s:
                s.sendall(b"GET " + path.encode() +
                          b" HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(H.Reader(s).read().status, 400, path)

    def test_if_modified_since(self):
        path = os.path.join(self.root, "hello.txt")
        mtime = os.stat(path).st_mtime
        later = email.utils.formatdate(mtime + 60, usegmt=True)
        earlier = email.utils.formatdate(mtime - 60, usegmt=True)
        r = curl("-i", "-H", "If-Modified-Since: " + later,
                 self.url("/hello.txt"))
        resp = H.Reader(data=r.stdout).read()
        self.assertEqual(resp.status, 304)
        self.assertEqual(resp.body, b"")
        self.assertIsNotNone(resp.header("last-modified"))
        r = curl("-i", "-H", "If-Modified-Since: " + earlier,
                 self.url("/hello.txt"))
        self.assertEqual(H.Reader(data=r.stdout).read().status, 200)

    def test_big_file_sendfile(self):
        r = curl(self.url("/big.bin"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(),
                         hashlib.sha256(self.files["big.bin"]).hexdigest())
        r = curl("-I", self.url("/big.bin"))
        resp = H.Reader(data=r.stdout).read(head=True)
        self.assertEqual(int(resp.header("content-length")), 300 * 1024)

    def test_empty_file(self):
        r = curl("-i", self.url("/empty.txt"))
        resp = H.Reader(data=r.stdout).read()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("content-length"), "0")

    def test_methods(self):
        with H.connect(self.srv.port) as s:
            s.sendall(b"DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"POST /hello.txt HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 3\r\n\r\nabc"
                      b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            rd = H.Reader(s)
            r1 = rd.read()
            self.assertEqual(r1.status, 405)
            self.assertEqual(r1.header("allow"), "GET, HEAD")
            self.assertEqual(rd.read().status, 501)
            self.assertEqual(rd.read().status, 405)
            self.assertEqual(rd.read().body, self.files["hello.txt"])

    def test_file_changes_are_seen(self):
        path = os.path.join(self.root, "changing.txt")
        with open(path, "wb") as f:
            f.write(b"one\n")
        self.assertEqual(curl(self.url("/changing.txt")).stdout, b"one\n")
        with open(path, "wb") as f:
            f.write(b"two, longer\n")
        os.utime(path, (time.time() + 5, time.time() + 5))
        # Revalidated once a second: seen within a while, never mixed.
        deadline = time.monotonic() + H.TIMEOUT
        while time.monotonic() < deadline:
            body = curl(self.url("/changing.txt")).stdout
            if body == b"two, longer\n":
                break
            self.assertEqual(body, b"one\n")   # never a mix of the two
            time.sleep(0.2)
        self.assertEqual(body, b"two, longer\n")
        os.unlink(path)
        time.sleep(1.1)     # past the once-a-second revalidation: a 404
        r = curl("-o", "/dev/null", "-w", "%{http_code}",
                 self.url("/changing.txt"))
        self.assertEqual(r.stdout, b"404")


class TestBodies(HttpdCase):

    def test_post_content_length(self):
        r = curl("--data-binary", "hello body", self.url("/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"hello body")

    def test_chunked_binary_post(self):
        data = os.urandom(70000)
        path = os.path.join(self.tmp, "upload.bin")
        with open(path, "wb") as f:
            f.write(data)
        r = curl("-H", "Transfer-Encoding: chunked", "--data-binary",
                 "@" + path, self.url("/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, data)

    def test_100_continue(self):
        data = os.urandom(5000)
        path = os.path.join(self.tmp, "cont.bin")
        with open(path, "wb") as f:
            f.write(data)
        # (curl sends the body anyway after --expect100-timeout.)
        r = curl("-v", "-H", "Expect: 100-continue", "--expect100-timeout",
                 "%d" % H.TIMEOUT, "--data-binary", "@" + path,
                 self.url("/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"HTTP/1.1 100 Continue", r.stderr)
        self.assertEqual(r.stdout, data)
        # Raw: the 100 comes before the body is sent.
        with H.connect(self.srv.port) as s:
            s.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\n"
                      b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            rd = H.Reader(s)
            self.assertEqual(rd.read().status, 100)
            s.sendall(b"abcd")
            resp = rd.read()
            self.assertEqual((resp.status, resp.body), (200, b"abcd"))

    def test_chunked_extensions_trailers_raw(self):
        with H.connect(self.srv.port) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n"
                      b"4;name=value\r\nWiki\r\n"
                      b"5 ; q=\"quoted; text\"\r\npedia\r\n"
                      b"E\r\n in\r\n\r\nchunks.\r\n"
                      b"0;last\r\nX-Trailer: yes\r\nX-More: 1\r\n\r\n")
            resp = H.Reader(s).read()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"Wikipedia in\r\n\r\nchunks.")

    def test_http_client_bodies(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port,
                                          timeout=H.TIMEOUT)
        try:
            conn.request("PUT", "/echo", body=b"x" * 1000)
            r = conn.getresponse()
            self.assertEqual(r.read(), b"x" * 1000)
            conn.request("POST", "/echo", body=iter([b"ab", b"cd", b"ef"]),
                         encode_chunked=True,
                         headers={"Transfer-Encoding": "chunked"})
            r = conn.getresponse()
            self.assertEqual(r.read(), b"abcdef")
        finally:
            conn.close()

    def test_pipelining_in_order(self):
        reqs = (b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                b"HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
                b"first"
                b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n"
                b"0\r\n\r\n"
                b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
        with H.connect(self.srv.port) as s:
            s.sendall(reqs)
            rd = H.Reader(s)
            got = [rd.read(), rd.read(head=True), rd.read(), rd.read(),
                   rd.read(), rd.read()]
        self.assertEqual([r.status for r in got],
                         [200, 200, 200, 404, 200, 200])
        self.assertEqual(got[0].body, self.files["hello.txt"])
        self.assertEqual(got[2].body, b"first")
        self.assertEqual(got[4].body, b"second")
        self.assertEqual(got[5].body, self.files["style.css"])

    def test_many_pipelined_requests(self):
        n = 300
        with H.connect(self.srv.port) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n" * n)
            rd = H.Reader(s)
            for _ in range(n):
                self.assertEqual(rd.read().body, self.files["hello.txt"])

    def test_byte_by_byte(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"
               b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        with H.connect(self.srv.port) as s:
            for i in range(len(req)):
                s.sendall(req[i:i + 1])
                time.sleep(0.001)
            rd = H.Reader(s)
            self.assertEqual(rd.read().body, b"abc")
            self.assertEqual(rd.read().body, self.files["hello.txt"])

    def test_every_split_of_a_request(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"
               b"wxyz")
        with H.connect(self.srv.port) as s:
            rd = H.Reader(s)
            for cut in range(1, len(req)):
                s.sendall(req[:cut])
                time.sleep(0.002)
                s.sendall(req[cut:])
                self.assertEqual(rd.read().body, b"wxyz", cut)


class TestBadInput(HttpdCase):
    """Every bad input of the issue gets its status and a closed
    connection."""

    def test_malformed_request_lines(self):
        for line in [b"GET /\r\n", b"GET / HTTP/1.1 extra\r\n",
                     b"GET  / HTTP/1.1\r\n", b"GET / HTTP/1.2\r\n",
                     b"GET / HTTP/2.0\r\n", b"GET / http/1.1\r\n",
                     b"G@T / HTTP/1.1\r\n", b" GET / HTTP/1.1\r\n",
                     b"GET / HTTP/1.1\n"]:
            self.assertEqual(
                self.raw_status(line + b"Host: x\r\n\r\n"), 400, line)

    def test_request_line_too_long(self):
        self.assertEqual(self.raw_status(
            b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414)
        # Without a delimiter at all, once the limit is passed.
        self.assertEqual(self.raw_status(b"GET /" + b"a" * 9000), 414)

    def test_header_line_too_long(self):
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 +
            b"\r\n\r\n"), 431)

    def test_header_block_too_large(self):
        fields = b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 4000)
                          for i in range(10))
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n"), 431)

    def test_body_too_large_refused_before_reading(self):
        with H.connect(self.srv.port) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
            resp = H.Reader(s).read()     # no body byte was sent
            self.assertEqual(resp.status, 413)
            self.assertTrue(H.closed_by_peer(s))
        # Chunked: refused when the chunks add up to more.
        self.assertEqual(self.raw_status(
            b"POST /echo HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % (MAX_BODY + 1)),
            413)
        # Expect: 100-continue with a body over the limit: no 100.
        with H.connect(self.srv.port) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                      b"Expect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
            self.assertEqual(H.Reader(s).read().status, 413)

    def test_missing_host(self):
        self.assertEqual(self.raw_status(b"GET / HTTP/1.1\r\n\r\n"), 400)
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400)

    def test_smuggling_cl_and_te(self):
        self.assertEqual(self.raw_status(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
        self.assertEqual(self.raw_status(
            b"POST /echo HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
            b"0\r\n\r\n"), 400)

    def test_bad_content_length(self):
        for value in [b"abc", b"-1", b"+3", b"1.5", b"3 3", b"0x10",
                      b"99999999999999999999999", b"4, 4", b""]:
            self.assertEqual(self.raw_status(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                value + b"\r\n\r\nabcd"), 400, value)
        self.assertEqual(self.raw_status(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            b"Content-Length: 5\r\n\r\nabcde"), 400)

    def test_bad_chunk_size(self):
        for size in [b"zz", b"-1", b"", b" 1", b"1 x", b"10000000000000000"]:
            self.assertEqual(self.raw_status(
                b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n"),
                400, size)

    def test_chunk_without_crlf(self):
        self.assertEqual(self.raw_status(
            b"POST /echo HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n"),
            400)

    def test_whitespace_before_colon(self):
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400)
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A\t: y\r\n\r\n"), 400)

    def test_obs_fold(self):
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"), 400)
        self.assertEqual(self.raw_status(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n"), 400)

    def test_control_characters(self):
        for target in [b"/a\x01b", b"/a\x7f", b"/\x00", b"/a\tb"]:
            self.assertEqual(self.raw_status(
                b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 400,
                target)
        for value in [b"a\x01b", b"a\x00b", b"a\x7fb", b"a\rb", b"a\nb"]:
            self.assertEqual(self.raw_status(
                b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + value +
                b"\r\n\r\n"), 400, value)

    def test_unsupported_transfer_encoding(self):
        for te in [b"gzip", b"gzip, chunked", b"identity"]:
            self.assertEqual(self.raw_status(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
                te + b"\r\n\r\n"), 501, te)

    def test_server_survives(self):
        # After all of the above the server still answers.
        r = curl(self.url("/hello.txt"))
        self.assertEqual(r.stdout, self.files["hello.txt"])


class ServerPerTest(unittest.TestCase):
    """A fresh server (with ARGS and an access log) for every test."""

    ARGS = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="weft-httpd-test-")
        self.files = H.make_site(self.tmp)
        self.log = os.path.join(self.tmp, "access.log")
        self.srv = H.Server(self.tmp, "--access-log", self.log, *self.ARGS)

    def tearDown(self):
        rc, err = self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for mark in H.SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.assertEqual(rc, 0, err)


class TestTimeouts(ServerPerTest):

    ARGS = ("--header-timeout", "1", "--idle-timeout", "2")

    # The server runs with --header-timeout 1 and --idle-timeout 2.  A
    # timeout must not fire early; "not too late" bounds are 10 times it,
    # as a loaded machine may be slow to run the timer and the client.
    def test_header_timeout(self):
        t0 = time.monotonic()
        with H.connect(self.srv.port) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHo")
            resp = H.Reader(s).read()
            took = time.monotonic() - t0
            self.assertEqual(resp.status, 408)
            self.assertTrue(H.closed_by_peer(s))
        self.assertGreaterEqual(took, 0.99)
        self.assertLess(took, 10)

    def test_slowloris_is_cut_off(self):
        # A byte every 0.2 s keeps the connection active, but the whole
        # head must arrive within the header timeout: the 408 comes while
        # the head is still coming (sending it all would take 24 s).
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 90
        t0 = time.monotonic()
        with H.connect(self.srv.port) as s:
            got = b""
            sent = 0
            for ch in head:
                try:
                    s.sendall(bytes([ch]))
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += 1
                time.sleep(0.2)
                s.settimeout(0.01)
                try:
                    got += s.recv(4096)
                except socket.timeout:
                    pass
                if got:
                    break
            took = time.monotonic() - t0
            got += H.recv_all(s)
        self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got)
        self.assertLess(sent, len(head), "not cut off before the head ended")
        self.assertGreaterEqual(took, 0.99)

    def test_idle_keep_alive_timeout(self):
        with H.connect(self.srv.port) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            H.Reader(s).read()
            t0 = time.monotonic()
            self.assertTrue(H.closed_by_peer(s))
            # (The idle time began when the response left, before t0.)
            self.assertGreater(time.monotonic() - t0, 1.0)


class TestAccessLog(ServerPerTest):
    """(Default timeouts: a 1 s header timeout would turn a request of a
    curl that happens to be stalled for a second into a 408.)"""

    def test_access_log(self):
        curl(self.srv.url("/hello.txt"))
        curl(self.srv.url("/missing"))
        curl("--data-binary", "xyz", self.srv.url("/echo"))
        deadline = time.monotonic() + H.TIMEOUT
        lines = []
        while time.monotonic() < deadline:
            with open(self.log) as f:
                lines = f.read().splitlines()
            if len(lines) >= 3:
                break
            time.sleep(0.05)
        self.assertEqual(len(lines), 3, lines)
        self.assertRegex(lines[0], r'^127\.0\.0\.1:\d+ - - \[\d\d/\w{3}/\d{4}'
                         r':\d\d:\d\d:\d\d \+0000\] "GET /hello.txt HTTP/1.1"'
                         r' 200 %d$' % len(self.files["hello.txt"]))
        self.assertIn('"GET /missing HTTP/1.1" 404 ', lines[1])
        self.assertIn('"POST /echo HTTP/1.1" 200 3', lines[2])


class TestEndpoints(unittest.TestCase):
    """The same server on TCP, IPv6 and a unix socket at once."""

    def test_tcp6_and_unix(self):
        tmp = tempfile.mkdtemp(prefix="weft-httpd-test-")
        try:
            files = H.make_site(os.path.join(tmp, "root"))
            sock = os.path.join(tmp, "httpd.sock")
            srv = H.Server(os.path.join(tmp, "root"), "--listen",
                           "unix:" + sock, "--listen",
                           "tcp6:0:interface=\\:\\:1")
            try:
                r = curl("--unix-socket", sock, "http://localhost/hello.txt")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, files["hello.txt"])
                deadline = time.monotonic() + H.TIMEOUT
                with srv.cond:
                    while not any(l.startswith("weft-httpd: serving") and
                                  "[::1]" in l for l in srv.lines):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        srv.cond.wait(left)
                    lines = list(srv.lines)
                six = [l for l in lines if "listening on tcp6:" in l]
                self.assertEqual(len(six), 1, lines)
                port = int(six[0].rsplit(":", 1)[1])
                self.assertIn("serving %s at http://[::1]:%d/" %
                              (os.path.join(tmp, "root"), port),
                              "\n".join(lines))
                r = curl("-g", "http://[::1]:%d/sub/" % port)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, files["sub/index.html"])
            finally:
                rc, err = srv.stop()
                self.assertEqual(rc, 0, err)
            self.assertFalse(os.path.exists(sock))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TestSlowReader(unittest.TestCase):
    """A client that pipelines many requests and reads nothing must not make
    the server buffer the answers without bound."""

    def test_output_is_bounded(self):
        tmp = tempfile.mkdtemp(prefix="weft-httpd-test-")
        try:
            files = H.make_site(tmp)
            srv = H.Server(tmp)
            try:
                n = 4000             # 4000 x 32 KiB = 125 MiB of answers
                req = b"GET /mid.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                with H.connect(srv.port) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                    before = srv.rss_kb()
                    # The requests may not all fit in the socket buffers
                    # while the server holds back, so a thread sends them.
                    sender = threading.Thread(
                        target=s.sendall, args=(req * n,), daemon=True)
                    sender.start()
                    time.sleep(1.5)
                    grown = srv.rss_kb() - before
                    self.assertLess(grown, 40 * 1024,
                                    "server RSS grew %d KiB" % grown)
                    rd = H.Reader(s)
                    for i in range(n):
                        self.assertEqual(len(rd.read().body), 32 * 1024)
                    sender.join(H.TIMEOUT)
            finally:
                rc, err = srv.stop()
                self.assertEqual(rc, 0, err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TestMutatedInput(unittest.TestCase):
    """Seeded random mutations of good requests, cut at random points,
    with half-closes, slow and abortive readers, for a few seconds: the
    server (under ASan in `make test`) must keep answering and stop
    cleanly with no sanitizer report."""

    SEEDS = [
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
        b"HEAD /sub HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET /big.bin HTTP/1.1\r\nHost: a\r\n"
        b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
        b"GET /mid.bin HTTP/1.1\r\nHost: a\r\n\r\n" * 5,
        b"GET /%2e%2e/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
        b"Content-Length: 3\r\n\r\nabc",
        b"GET http://h/sub/page.txt?x HTTP/1.1\r\nHost: a\r\n\r\n",
    ]
    PIECES = [b"\r\n", b" ", b":", b"\t", b"%", b"0", b"/..", b"\x00",
              b"ffffff"]

    def mutate(self, rnd, b):
        b = bytearray(b)
        for _ in range(rnd.randint(0, 6)):
            op, i = rnd.randint(0, 4), rnd.randint(0, len(b))
            if op == 0 and b:
                b[min(i, len(b) - 1)] = rnd.randint(0, 255)
            elif op == 1:
                b[i:i] = rnd.choice(self.PIECES + self.SEEDS)
            elif op == 2 and b:
                del b[i:i + rnd.randint(1, 10)]
            elif op == 3:
                b[i:i] = bytes(rnd.randint(0, 255)
                               for _ in range(rnd.randint(1, 20)))
            else:
                b += rnd.choice(self.SEEDS)
        return bytes(b)

    def test_mutated_requests(self):
        tmp = tempfile.mkdtemp(prefix="weft-httpd-test-")
        try:
            files = H.make_site(tmp)
            srv = H.Server(tmp, "--max-body", "5000", "--max-header-bytes",
                           "4000", "--header-timeout", "1",
                           "--idle-timeout", "2", "--cache-max-file", "1000")
            try:
                rnd = random.Random(4711)
                end = time.monotonic() + 6
                while time.monotonic() < end:
                    self.one_connection(rnd, srv.port)
                    self.assertIsNone(srv.p.poll(), "weft-httpd died")
                r = curl(srv.url("/hello.txt"))
                self.assertEqual(r.stdout, files["hello.txt"])
            finally:
                rc, err = srv.stop()
            for mark in H.SANITIZER_MARKS:
                self.assertNotIn(mark, err)
            self.assertEqual(rc, 0, err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def one_connection(self, rnd, port):
        data = b"".join(self.mutate(rnd, rnd.choice(self.SEEDS))
                        for _ in range(rnd.randint(1, 6)))
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            with s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                pos = 0
                while pos < len(data):
                    k = rnd.randint(1, len(data) - pos)
                    s.sendall(data[pos:pos + k])
                    pos += k
                if rnd.random() < 0.5:
                    s.shutdown(socket.SHUT_WR)
                s.settimeout(0.2)
                try:
                    while s.recv(rnd.choice([10, 65536])):
                        pass
                except (socket.timeout, ConnectionResetError):
                    pass
                if rnd.random() < 0.3:       # close with RST
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass


if __name__ == "__main__":
    unittest.main()
