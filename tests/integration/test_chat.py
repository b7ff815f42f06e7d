"""Integration tests of weft-chat (examples/chat), run as a real process
over real sockets on 127.0.0.1 and a unix socket.

The program comes from $WEFT_BIN (default build/asan/bin), so under `make
test` it runs with AddressSanitizer: a clean stop must exit 0 with a
sanitizer-free stderr.  Every socket and wait has a timeout; the server is
killed by its own Popen handle in tearDown if still alive.
"""

import os
import socket
import subprocess
import tempfile
import unittest

from tests.integration import procs
from tests.integration.procs import BIN, SANITIZER_MARKS, TIMEOUT, tcp_port


class Server(procs.Proc):
    def __init__(self, *args):
        super().__init__([os.path.join(BIN, "weft-chat")] + list(args),
                         stdout=subprocess.PIPE)

    def addresses(self, count):
        return self.wait_listening(count)


class Client:
    def __init__(self, family, addr):
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(addr)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                raise AssertionError("EOF, have %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def send(self, text):
        self.s.sendall(text.encode() if isinstance(text, str) else text)

    def eof(self):
        """True once the server closed the connection (reads until EOF)."""
        while True:
            try:
                data = self.s.recv(4096)
            except ConnectionResetError:    # closed with our bytes unread
                return True
            if not data:
                return True
            self.buf += data

    def close(self):
        self.s.close()


class ChatTest(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for s in self.servers:
            s.kill()

    def server(self, *args):
        s = Server(*args)
        self.servers.append(s)
        return s

    def client(self, family, addr):
        c = Client(family, addr)
        self.clients.append(c)
        return c

    def assert_clean_stop(self, s):
        rc, text = s.stop()
        self.assertEqual(rc, 0, text)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, text)

    def join(self, c, name):
        self.assertEqual(c.line(), "What's your name?")
        c.send(name + "\r\n")
        self.assertEqual(c.line(), "Welcome, %s!" % name)

    def test_room_over_tcp_and_unix(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "chat.sock")
            s = self.server("--listen", "tcp:0:interface=127.0.0.1",
                            "--listen", "unix:" + path)
            tcp, _ = s.addresses(2)
            a = self.client(socket.AF_INET, ("127.0.0.1", tcp_port(tcp)))
            b = self.client(socket.AF_UNIX, path)
            self.join(a, "alice")
            self.join(b, "bob")
            self.assertEqual(a.line(), "* bob has joined")
            a.send("hello bob\n")
            self.assertEqual(b.line(), "<alice> hello bob")
            b.send(b"hi \xc3\xa9\r\n")
            self.assertEqual(a.line(), "<bob> hi \u00e9")
            b.close()
            self.clients.remove(b)
            self.assertEqual(a.line(), "* bob has left")
            self.assert_clean_stop(s)

    def test_taken_and_bad_names(self):
        s = self.server("--listen", "tcp:0:interface=127.0.0.1")
        port = tcp_port(s.addresses(1)[0])
        a = self.client(socket.AF_INET, ("127.0.0.1", port))
        b = self.client(socket.AF_INET, ("127.0.0.1", port))
        self.join(a, "alice")
        self.assertEqual(b.line(), "What's your name?")
        b.send("alice\n")
        self.assertEqual(b.line(), "Name taken, please choose another.")
        b.send("two words\n")
        self.assertEqual(b.line(), "Names are letters, digits, '_' and '-'; "
                         "please choose another.")
        b.send("bob\n")
        self.assertEqual(b.line(), "Welcome, bob!")
        self.assertEqual(a.line(), "* bob has joined")
        self.assert_clean_stop(s)

    def test_many_lines_in_one_write_and_bytewise(self):
        s = self.server("--listen", "tcp:0:interface=127.0.0.1")
        port = tcp_port(s.addresses(1)[0])
        a = self.client(socket.AF_INET, ("127.0.0.1", port))
        b = self.client(socket.AF_INET, ("127.0.0.1", port))
        self.join(a, "alice")
        self.join(b, "bob")
        self.assertEqual(a.line(), "* bob has joined")
        b.send("".join("line %d\n" % i for i in range(200)))
        for i in range(200):
            self.assertEqual(a.line(), "<bob> line %d" % i)
        for ch in b"split line\r\n":
            b.send(bytes([ch]))
        self.assertEqual(a.line(), "<bob> split line")
        self.assert_clean_stop(s)

    def test_over_long_line_closes(self):
        s = self.server("--listen", "tcp:0:interface=127.0.0.1")
        port = tcp_port(s.addresses(1)[0])
        a = self.client(socket.AF_INET, ("127.0.0.1", port))
        self.join(a, "alice")
        a.send(b"x" * 5000)
        self.assertTrue(a.eof())
        self.assert_clean_stop(s)

    def test_usage_errors_and_help(self):
        p = subprocess.run([os.path.join(BIN, "weft-chat"), "--help"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: weft-chat --listen ENDPOINT", p.stdout)
        for args in ([], ["--bogus"], ["--listen"],
                     ["--listen", "tcp:notaport"]):
            p = subprocess.run([os.path.join(BIN, "weft-chat")] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=TIMEOUT)
            self.assertEqual(p.returncode, 2, args)
            self.assertTrue(p.stderr.startswith(b"weft-chat: "), p.stderr)

    def test_address_in_use(self):
        s = self.server("--listen", "tcp:0:interface=127.0.0.1")
        port = tcp_port(s.addresses(1)[0])
        p = subprocess.run([os.path.join(BIN, "weft-chat"), "--listen",
                            "tcp:%d:interface=127.0.0.1" % port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"address already in use", p.stderr)
        self.assert_clean_stop(s)


if __name__ == "__main__":
    unittest.main()
