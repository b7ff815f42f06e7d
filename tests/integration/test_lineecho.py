"""Integration tests of weft-lineecho (examples/lineecho, spec/lineecho.weft)
as a real process on 127.0.0.1.

The program comes from $WEFT_BIN (default build/asan/bin), so under `make
test` it runs under AddressSanitizer; a clean stop must exit 0 with a
sanitizer-free stderr.  Every socket and wait has a timeout.
"""

import socket
import threading
import time
import unittest

from tests.integration import procs
from tests.integration.procs import SANITIZER_MARKS, TIMEOUT


class LineEchoTest(unittest.TestCase):
    def setUp(self):
        self.srv = procs.Proc([procs.prog("weft-lineecho"), "--listen",
                               "tcp:0:interface=127.0.0.1"])
        try:
            self.port = self.srv.wait_port()
        except AssertionError:
            self.srv.kill()
            raise

    def tearDown(self):
        running = self.srv.p.poll() is None
        rc, text = self.srv.stop()
        if running:
            self.assertEqual(rc, 0, "server did not stop cleanly on "
                             "SIGTERM:\n" + text)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, text)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), TIMEOUT)
        s.settimeout(TIMEOUT)
        return s

    def read_exactly(self, s, n):
        data = b""
        while len(data) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def test_lines_echoed_whatever_the_reads(self):
        s = self.connect()
        pieces = [b"hel", b"lo\r", b"\nwor", b"ld\r\n\r\n", b"a\nb\r\n"]
        for piece in pieces:
            s.sendall(piece)
            time.sleep(0.02)
        want = b"hello\r\nworld\r\n\r\na\nb\r\n"
        self.assertEqual(self.read_exactly(s, len(want)), want)
        s.close()

    def test_partial_line_is_not_echoed(self):
        s = self.connect()
        s.sendall(b"done\r\nnot yet")
        self.assertEqual(self.read_exactly(s, 6), b"done\r\n")
        s.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            s.recv(100)
        s.close()

    def test_max_line_accepted_longer_closes(self):
        s = self.connect()
        ok = b"x" * 16384 + b"\r\n"
        s.sendall(ok)
        self.assertEqual(self.read_exactly(s, len(ok)), ok)
        s.sendall(b"y" * 16386)
        try:
            rest = self.read_exactly(s, 1)
        except ConnectionResetError:
            rest = b""
        self.assertEqual(rest, b"")          # closed, nothing echoed
        s.close()

    def test_pipelined_many_lines_while_not_reading(self):
        # 40000 lines (1.3 MB) written before reading a byte: more than the
        # socket buffers hold, so the server's output crosses its high-water
        # mark and it pauses; every line still comes back, in order.
        s = self.connect()
        lines = b"".join(b"line %08d......................\r\n" % i
                         for i in range(40000))
        writer = threading.Thread(target=s.sendall, args=(lines,))
        writer.start()
        time.sleep(0.3)
        got = self.read_exactly(s, len(lines))
        writer.join(TIMEOUT)
        self.assertEqual(got, lines)
        s.close()

    def test_client_that_never_reads_is_throttled(self):
        # Echoes above the high-water mark pause the parser and stop the
        # server reading, so a client that only writes soon cannot write
        # more: the server does not buffer without bound (its line echo
        # takes the fast path, which must still mind the mark).  Then
        # every line comes back, in order.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", self.port))
        chunk = b"".join(b"line %08d.................\r\n" % i
                         for i in range(2048))          # 64 KiB
        try:
            sent = procs.send_until_throttled(s, chunk)
            self.assertLess(sent, 64 << 20, "server kept reading")
            s.setblocking(True)
            s.settimeout(TIMEOUT)
            # Whole lines only are echoed (a partial last one waits).
            whole = sent - sent % 32
            got = self.read_exactly(s, whole)
            self.assertEqual(len(got), whole)
            self.assertTrue(got == (chunk * (whole // len(chunk) + 1))[:whole])
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
