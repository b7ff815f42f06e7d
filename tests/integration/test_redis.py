"""weft-redis against redis-server 7, side by side.

Every test starts one redis-server (Debian package) and one weft-redis on
free ports of 127.0.0.1, sends both the same byte streams -- whole, split
at every offset (or a spread of offsets for long streams) and one byte at a
time -- and compares the replies after reducing error texts to their first
word ("-ERR", "-OOM").  redis-cli and redis-benchmark run against weft-redis
too.  Everything has a timeout; the servers are stopped by pid.

The binary comes from $WEFT_BIN (default build/asan/bin).
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from tests.integration import procs
from tests.integration.procs import free_port

BIN = os.path.abspath(os.environ.get("WEFT_BIN", "build/asan/bin"))
WEFT = os.path.join(BIN, "weft-redis")
SENTINEL_REPLY = b"$9\r\n__end__42\r\n"
SENTINEL = b"*2\r\n$4\r\nECHO\r\n$9\r\n__end__42\r\n"


def mb(*args):
    """A multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# wait_port probe: the server answers PING.
pong = procs.answers(b"PING\r\n", b"+PONG\r\n")


def wait_ping(port, proc, timeout=10.0):
    procs.wait_port(port, proc, timeout, probe=pong)


class Servers:
    """A redis-server and a weft-redis, started and stopped together."""

    def __init__(self, weft_args=()):
        self.tmp = tempfile.mkdtemp(prefix="weft-redis-test-")
        self.procs = []
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", self.tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.redis)
        self.weft_err = os.path.join(self.tmp, "weft.err")
        self.weft_port = free_port()
        with open(self.weft_err, "wb") as err:
            self.weft = subprocess.Popen(
                [WEFT, "--listen",
                 "tcp:%d:interface=127.0.0.1" % self.weft_port] +
                list(weft_args),
                stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(self.weft)
        try:
            wait_ping(self.redis_port, self.redis)
            wait_ping(self.weft_port, self.weft)
        except Exception:
            self.stop()
            raise

    def stop(self):
        """Stops both; returns weft-redis' stderr.  self.weft_rc is its exit
        status after SIGTERM (None if it had to be killed)."""
        codes = procs.stop_all(self.procs)
        self.weft_rc = (codes[self.procs.index(self.weft)]
                        if self.weft in self.procs else None)
        log = ""
        if os.path.exists(self.weft_err):
            with open(self.weft_err, errors="replace") as f:
                log = f.read()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return log


def exchange(port, chunks, pause=0.0, sentinel=True, quiet=0.4, timeout=10):
    """Sends chunks (pausing between them so they arrive as separate reads)
    and returns the bytes received, plus b"<EOF>" if the server closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    chunks = list(chunks) + ([SENTINEL] if sentinel else [])
    got = b""
    try:
        for i, c in enumerate(chunks):
            try:
                s.sendall(c)
            except OSError:
                break                   # the server closed: read the rest
            if pause and i < len(chunks) - 1:
                time.sleep(pause)
        deadline = time.monotonic() + timeout
        s.settimeout(quiet)
        while time.monotonic() < deadline:
            if sentinel and got.endswith(SENTINEL_REPLY):
                break
            try:
                d = s.recv(65536)
            except socket.timeout:
                if sentinel:
                    continue
                break
            except ConnectionResetError:
                got += b"<EOF>"
                break
            if not d:
                got += b"<EOF>"
                break
            got += d
    finally:
        s.close()
    return got


def normalize(data):
    """Replies as a list of items, error texts cut to their first word."""
    eof = data.endswith(b"<EOF>")
    if eof:
        data = data[:-5]
    out, i = [], 0
    while i < len(data):
        j = data.find(b"\r\n", i)
        if j < 0:
            out.append(b"partial:" + data[i:])
            break
        kind, line = data[i:i + 1], data[i + 1:j]
        i = j + 2
        if kind == b"-":
            out.append(b"-" + line.split(b" ")[0])
        elif kind == b"$" and int(line) >= 0:
            n = int(line)
            out.append(b"$" + data[i:i + n])
            i += n + 2
        else:
            out.append(kind + line)
    if eof:
        out.append(b"<EOF>")
    return out


def splits(data, limit=160):
    """Offsets to split at: all of them for short streams, a spread for
    long ones (always including the first and last few)."""
    n = len(data)
    if n <= limit:
        return list(range(1, n))
    step = max(1, n // limit)
    return sorted(set(list(range(1, 8)) + list(range(1, n, step)) +
                      list(range(n - 8, n))))


# ---- the streams compared ---------------------------------------------------

STRINGS = [
    mb("FLUSHALL"),
    mb("PING"), mb("PING", "hello"), mb("PING", "a", "b"),
    mb("ECHO", "x"), mb("ECHO"), mb("ECHO", ""),
    mb("SET", "k", "v"), mb("GET", "k"), mb("GET", "nokey"),
    mb("GETDEL", "k"), mb("GETDEL", "k"), mb("GET", "k"),
    mb("SET", "k", "v", "NX"), mb("SET", "k", "w", "NX"),
    mb("SET", "k", "w", "XX"), mb("SET", "j", "w", "XX"),
    mb("SET", "k", "z", "GET"), mb("SET", "new", "z", "GET"),
    mb("SET", "k", "x", "nx", "get"), mb("SET", "k", "y", "XX", "GET"),
    mb("SET", "k", "1", "EX", "100"), mb("TTL", "k"),
    mb("SET", "k", "2", "KEEPTTL"), mb("TTL", "k"),
    mb("SET", "k", "3"), mb("TTL", "k"),
    mb("SET", "k", "1", "PX", "100000"), mb("TTL", "k"),
    mb("SET", "k", "1", "EX", "0"), mb("SET", "k", "1", "EX", "-5"),
    mb("SET", "k", "1", "EX", "abc"), mb("SET", "k", "1", "EX"),
    mb("SET", "k", "1", "NX", "XX"), mb("SET", "k", "1", "EX", "10", "PX", "10"),
    mb("SET", "k", "1", "EX", "10", "EX", "20"), mb("TTL", "k"),
    mb("SET", "k", "1", "KEEPTTL", "EX", "10"),
    mb("SET", "k", "1", "EX", "9223372036854775807"),
    mb("SET", "k", "1", "PX", "9223372036854775807"),
    mb("SET", "k", "1", "BOGUS"), mb("SET", "k"), mb("GET", "k"),
    mb("SET", "k", "1", "EXAT", "99999999999"), mb("GET", "k"),
    mb("SET", "k", "2", "PXAT", "99999999999000"), mb("GET", "k"),
    mb("SET", "k", "3", "PXAT", "1"), mb("GET", "k"),
]

INTEGERS = [
    mb("FLUSHALL"),
    mb("INCR", "n"), mb("INCR", "n"), mb("DECR", "n"), mb("DECR", "m"),
    mb("INCRBY", "n", "10"), mb("INCRBY", "n", "-20"), mb("DECRBY", "n", "5"),
    mb("INCRBY", "n", "x"), mb("INCRBY", "n", "+5"), mb("INCRBY", "n", " 5"),
    mb("INCRBY", "n", "05"), mb("INCRBY", "n", "-0"),
    mb("SET", "n", "9223372036854775806"), mb("INCR", "n"), mb("INCR", "n"),
    mb("GET", "n"), mb("INCRBY", "n", "9223372036854775807"),
    mb("SET", "n", "-9223372036854775807"), mb("DECR", "n"), mb("DECR", "n"),
    mb("DECRBY", "n", "-9223372036854775808"), mb("DECRBY", "n", "1"),
    mb("INCRBY", "n", "-9223372036854775808"),
    mb("SET", "s", "abc"), mb("INCR", "s"), mb("SET", "s", "007"),
    mb("INCR", "s"), mb("SET", "s", " 1"), mb("INCR", "s"),
    mb("SET", "s", "1.5"), mb("INCR", "s"), mb("SET", "s", ""), mb("INCR", "s"),
    mb("SET", "s", "99999999999999999999"), mb("INCR", "s"),
    mb("SET", "t", "5", "EX", "100"), mb("INCR", "t"), mb("TTL", "t"),
    mb("INCR"), mb("INCRBY", "n"), mb("DECRBY", "n", "1", "2"),
]

KEYS = [
    mb("FLUSHALL"),
    mb("APPEND", "a", "hello"), mb("APPEND", "a", " world"), mb("GET", "a"),
    mb("STRLEN", "a"), mb("STRLEN", "none"), mb("APPEND", "a", ""),
    mb("MSET", "a", "1", "b", "2", "c", "3"), mb("MGET", "a", "b", "x", "c"),
    mb("MSET", "a"), mb("MSET", "a", "1", "b"), mb("MGET"),
    mb("EXISTS", "a", "a", "x", "b"), mb("DEL", "a", "x", "a"),
    mb("EXISTS", "a"), mb("DBSIZE"), mb("DEL"),
    mb("SET", "e", "v"), mb("EXPIRE", "e", "100"), mb("TTL", "e"),
    mb("EXPIRE", "e", "50", "NX"), mb("EXPIRE", "e", "200", "XX"),
    mb("TTL", "e"), mb("EXPIRE", "e", "100", "GT"), mb("EXPIRE", "e", "300", "GT"),
    mb("TTL", "e"), mb("EXPIRE", "e", "400", "LT"), mb("EXPIRE", "e", "10", "LT"),
    mb("TTL", "e"), mb("EXPIRE", "e", "1", "NX", "XX"),
    mb("EXPIRE", "e", "1", "GT", "LT"), mb("EXPIRE", "e", "1", "FOO"),
    mb("EXPIRE", "e", "x"), mb("EXPIRE", "e", "9223372036854775807"),
    mb("PEXPIRE", "e", "9223372036854775807"),
    mb("PEXPIRE", "e", "500000"), mb("TTL", "e"),
    mb("PERSIST", "e"), mb("PERSIST", "e"), mb("TTL", "e"), mb("PERSIST", "zz"),
    mb("EXPIRE", "zz", "10"), mb("TTL", "zz"), mb("PTTL", "zz"), mb("PTTL", "e"),
    mb("EXPIRE", "e", "0"), mb("EXISTS", "e"), mb("SET", "e", "v"),
    mb("PEXPIRE", "e", "-1"), mb("GET", "e"),
    mb("EXPIRE", "e"), mb("TTL"), mb("PERSIST"),
    mb("SELECT", "0"), mb("SELECT", "1"), mb("SET", "d1", "x"), mb("DBSIZE"),
    mb("SELECT", "0"), mb("DBSIZE"), mb("GET", "d1"), mb("SELECT", "15"),
    mb("SELECT", "16"), mb("SELECT", "-1"), mb("SELECT", "x"),
    mb("SELECT", "0"), mb("FLUSHDB", "ASYNC"), mb("FLUSHDB", "x"),
    mb("FLUSHALL", "SYNC"), mb("FLUSHALL", "a", "b"), mb("DBSIZE"),
    mb("SELECT", "1"), mb("DBSIZE"), mb("DBSIZE", "x"),
]

CONNECTION = [
    mb("CLIENT", "GETNAME"), mb("CLIENT", "SETNAME", "app-1"),
    mb("CLIENT", "GETNAME"), mb("CLIENT", "SETNAME", "a b"),
    mb("CLIENT", "SETNAME", "a\nb"), mb("CLIENT", "SETNAME", b"\xc3\xa9"),
    mb("CLIENT", "SETNAME"), mb("CLIENT", "GETNAME", "x"),
    mb("CLIENT", "SETNAME", ""), mb("CLIENT", "GETNAME"),
    mb("CLIENT", "NOPE"), mb("CLIENT"),
    mb("CONFIG", "GET", "save"), mb("CONFIG", "GET", "appendonly"),
    mb("CONFIG", "GET", "nosuchparam"), mb("CONFIG", "GET"),
    mb("CONFIG", "NOPE"),
    mb("HELLO", "4"), mb("HELLO", "1"), mb("HELLO", "x"),
    mb("HELLO", "2", "BOGUS"), mb("HELLO", "2", "AUTH", "nobody", "pw"),
    mb("NOSUCH"), mb("NOSUCH", "a", "b"), mb(""), mb("get"), mb("gEt", "k", "x"),
    mb("SELECT"), mb("DBSIZE", "1"), mb("QUIT", "extra"),
]

INLINE = [
    b"PING\r\n", b"PING\n", b"\r\n", b"\n", b"   \r\n", b"ping  hello\r\n",
    b"ECHO \"a b\"\r\n", b"ECHO 'a b'\r\n",
    b"ECHO \"\\x41\\x4g\\n\\r\\t\\b\\a\\\\\\\"\"\r\n",
    b"ECHO 'it\\'s'\r\n", b"ECHO \"\"\r\n", b"ECHO ''\r\n",
    b"ECHO a'b c'\r\n", b"ECHO \x0bx\r\n", b"SET k \"v\\x00w\"\r\nGET k\r\n",
    b"\tECHO\tx\r\n", b"ECHO x\r\r\n",
]

BINARY = [mb("FLUSHALL"), mb("SET", bytes(range(256)), bytes(range(255, -1, -1))),
          mb("GET", bytes(range(256))), mb("APPEND", bytes(range(256)), b"\r\n\0"),
          mb("STRLEN", bytes(range(256))), mb("GET", bytes(range(256))),
          mb("SET", b"k\r\n", b"\r\n$3\r\n"), mb("MGET", b"k\r\n", b"k")]

# Each of these ends the connection (Redis answers and closes).
PROTOCOL_ERRORS = [
    b"*abc\r\n", b"*-0\r\n", b"*03\r\n", b"*+1\r\n", b"*\r\n",
    b"*2147483648\r\n", b"*99999999999999999999\r\n",
    b"*1\r\n$-1\r\n", b"*1\r\n$abc\r\n", b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n$536870913\r\n", b"*1\r\n$9999999999999\r\n", b"*1\r\n$\r\n",
    b"*1\r\nx4\r\n", b"*1\r\n:4\r\n", b"*1\r\n\r\n",
    b"*1\n$4\r\nPING\r\n", b"*1\r\n$4\nPING\r\n", b"*1\r\n$4PING\r\n",
    b"PING\r\nECHO \"abc\r\n", b"SET a \"b\"c\r\n", b"ECHO 'a\r\n",
    b"PING\r\n*x\r\nPING\r\n",
    mb("PING") + mb("QUIT") + mb("PING"), b"QUIT\r\nPING\r\n",
]


class RedisCompare(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.srv = Servers()

    @classmethod
    def tearDownClass(cls):
        log = cls.srv.stop()
        if "ERROR: AddressSanitizer" in log or "runtime error:" in log:
            raise AssertionError("weft-redis sanitizer report:\n" + log)
        if cls.srv.weft_rc != 0:
            raise AssertionError("weft-redis exited with %r after SIGTERM:\n%s"
                                 % (cls.srv.weft_rc, log))

    def both(self, chunks, **kw):
        r = normalize(exchange(self.srv.redis_port, chunks, **kw))
        w = normalize(exchange(self.srv.weft_port, chunks, **kw))
        return r, w

    def compare(self, data, every_split=True, **kw):
        """Whole, split at each offset (2 reads), one byte at a time."""
        want, got = self.both([data], **kw)
        self.assertEqual(want, got, "whole stream %r" % data[:200])
        if every_split:
            for k in splits(data):
                w = normalize(exchange(self.srv.weft_port, [data[:k], data[k:]],
                                       pause=0.002, **kw))
                self.assertEqual(want, w, "split at %d of %r" % (k, data[:200]))
        # One byte at a time (long streams: the first and last 4000 bytes
        # bytewise, 4 KiB pieces between).
        if len(data) <= 8000:
            pieces = [data[i:i + 1] for i in range(len(data))]
        else:
            mid = data[4000:-4000]
            pieces = ([data[i:i + 1] for i in range(4000)] +
                      [mid[i:i + 4096] for i in range(0, len(mid), 4096)] +
                      [data[i:i + 1] for i in range(len(data) - 4000,
                                                    len(data))])
        r = normalize(exchange(self.srv.redis_port, pieces, pause=0.0002,
                               **kw))
        w = normalize(exchange(self.srv.weft_port, pieces, pause=0.0002,
                               **kw))
        self.assertEqual(want, r, "redis byte by byte %r" % data[:200])
        self.assertEqual(want, w, "weft byte by byte %r" % data[:200])
        return want

    def test_strings(self):
        self.compare(b"".join(STRINGS))

    def test_integers(self):
        self.compare(b"".join(INTEGERS))

    def test_keys_expiry_select(self):
        self.compare(b"".join(KEYS))

    def test_connection_commands(self):
        self.compare(b"".join(CONNECTION), every_split=False)
        for cmd in CONNECTION:
            self.compare(cmd)

    def test_inline(self):
        for line in INLINE:
            self.compare(b"FLUSHALL\r\n" + line)
        self.compare(b"".join(INLINE))

    def test_inline_long_line(self):
        # A 60000-byte inline command is fine; one without a newline past
        # 64 KiB is "too big inline request" in both.
        self.compare(b"ECHO " + b"x" * 60000 + b"\r\n", every_split=False)
        want, got = self.both([b"x" * 70000], sentinel=False)
        self.assertEqual(want, got)
        self.assertEqual(want, [b"-ERR", b"<EOF>"])

    def test_binary(self):
        self.compare(b"".join(BINARY), every_split=False)
        self.compare(mb("SET", b"\0\r\n", b"\0") + mb("GET", b"\0\r\n"))

    def test_big_value(self):
        v = bytes(range(256)) * 4096           # 1 MiB
        self.compare(mb("SET", "big", v) + mb("GET", "big") +
                     mb("STRLEN", "big") + mb("APPEND", "big", v) +
                     mb("STRLEN", "big") + mb("DEL", "big"),
                     every_split=False)

    def test_protocol_errors(self):
        for data in PROTOCOL_ERRORS:
            want = self.compare(data, sentinel=True)
            self.assertEqual(want[-1], b"<EOF>", data)
            if b"QUIT" not in data:
                self.assertIn(b"-ERR", want, data)

    def test_empty_multibulk(self):
        self.compare(b"*0\r\n*-1\r\n*-5\r\nPING\r\n" + mb("PING"))

    def test_pipelined_many(self):
        data = mb("FLUSHALL") + b"".join(mb("SET", "k%d" % i, "v%d" % i) + mb("GET", "k%d" % i)
                        + mb("INCR", "c") for i in range(300))
        want = self.compare(data, every_split=False)
        self.assertEqual(len(want), 902)       # + FLUSHALL, sentinel
        self.assertEqual(want[-2], b":300")

    def test_missing_crlf_waits(self):
        # An unfinished request gets no reply and the connection stays open.
        for data in [b"*1\r\n$4\r\nPING", b"*1\r\n$4\r\nPING\r", b"*1\r\n$4",
                     b"*2\r\n$4\r\nECHO\r\n", b"PING", b"*1"]:
            want, got = self.both([data], sentinel=False, quiet=0.3)
            self.assertEqual(want, [], data)
            self.assertEqual(got, [], data)

    def test_hello(self):
        r = normalize(exchange(self.srv.redis_port, [mb("HELLO", "2")]))
        w = normalize(exchange(self.srv.weft_port, [mb("HELLO", "2")]))
        # Same map; the client id and the version differ by nature.
        for reply in (r, w):
            self.assertEqual(reply[0], b"*14")
            reply[4] = reply[8] = b"<x>"
        self.assertEqual(r, w)
        w = normalize(exchange(self.srv.weft_port,
                               [mb("HELLO", "2", "SETNAME", "me") +
                                mb("CLIENT", "GETNAME")]))
        self.assertEqual(w[-2], b"$me")


class RedisBehaviour(unittest.TestCase):
    """What the comparison cannot show: time, limits, memory, tools."""

    def setUp(self):
        self.srv = None

    def tearDown(self):
        if self.srv:
            log = self.srv.stop()
            self.assertNotIn("ERROR: AddressSanitizer", log)
            self.assertNotIn("runtime error:", log)
            self.assertEqual(self.srv.weft_rc, 0, log)

    def start(self, *args):
        self.srv = Servers(args)
        return self.srv.weft_port

    def test_trailer_not_crlf_closes(self):
        # Documented difference: Redis skips any two bytes after a bulk
        # block; weft-redis requires "\r\n" and closes the connection.
        self.start()
        data = mb("PING") + b"*1\r\n$4\r\nPINGxx" + mb("PING")
        r = normalize(exchange(self.srv.redis_port, [data]))
        w = normalize(exchange(self.srv.weft_port, [data]))
        self.assertEqual(r, [b"+PONG", b"+PONG", b"+PONG", b"$__end__42"])
        self.assertEqual(w, [b"+PONG", b"<EOF>"])

    def test_expiry_lazy_and_active(self):
        port = self.start()
        cmds = b"".join(mb("SET", "t%d" % i, "v", "PX", "150")
                        for i in range(200))
        cmds += mb("SET", "keep", "v") + mb("DBSIZE")
        got = normalize(exchange(port, [cmds]))
        self.assertEqual(got[-2], b":201")
        time.sleep(0.3)
        got = normalize(exchange(port, [mb("GET", "t0") + mb("PTTL", "t1")]))
        self.assertEqual(got[:2], [b"$-1", b":-2"])
        # The active sweep (10 Hz) removes the rest without any access.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            got = normalize(exchange(port, [mb("DBSIZE")]))
            if got[0] == b":1":
                break
            time.sleep(0.1)
        self.assertEqual(got[0], b":1")

    def test_pttl_counts_down(self):
        port = self.start()
        got = normalize(exchange(port, [mb("SET", "k", "v", "PX", "5000") +
                                        mb("PTTL", "k")]))
        self.assertTrue(4000 < int(got[1][1:]) <= 5000, got)
        time.sleep(0.2)
        got = normalize(exchange(port, [mb("PTTL", "k") + mb("TTL", "k")]))
        self.assertTrue(4000 < int(got[0][1:]) <= 4800, got)
        self.assertEqual(got[1], b":5")

    def test_maxmemory(self):
        port = self.start("--maxmemory", "2mb")
        v = b"x" * 100000
        # Fill with big values until one is refused (its own arguments
        # count as memory in use), then with small ones until those are
        # refused too.
        stored = 0
        for i in range(60):
            got = normalize(exchange(port, [mb("SET", "k%d" % i, v)]))
            if got[0] != b"+OK":
                break
            stored += 1
        self.assertEqual(got[0], b"-OOM")
        self.assertTrue(15 <= stored <= 21, stored)
        small = b"".join(mb("SET", "s%d" % i, b"y" * 1000) for i in range(200))
        got = normalize(exchange(port, [small]))
        self.assertIn(b"-OOM", got)
        self.assertEqual(got[0], b"+OK")
        # Reads and deletes still work, writes that add data do not; after
        # freeing memory, writes succeed again.
        got = normalize(exchange(port, [mb("GET", "k0") + mb("APPEND", "k0", "x")
                                        + mb("INCR", "n") + mb("EXPIRE", "k0", "100")
                                        + mb("DEL", "k0", "k1", "nokey") +
                                        mb("FLUSHALL") + mb("SET", "a", "b")]))
        self.assertEqual(got[0], b"$" + v)
        self.assertEqual(got[1:7], [b"-OOM", b"-OOM", b":1", b":2", b"+OK",
                                    b"+OK"])

    def test_query_limit(self):
        port = self.start("--client-query-buffer-limit", "100000")
        got = exchange(port, [mb("SET", "k", b"v" * 50000)])
        self.assertEqual(normalize(got), [b"+OK", b"$__end__42"])
        # Over the limit: no reply, the connection closes (as Redis).
        got = exchange(port, [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n" +
                              b"v" * 1000], sentinel=False, quiet=2)
        self.assertEqual(got, b"<EOF>")
        got = exchange(port, [b"*1000000\r\n" + b"$1\r\na\r\n" * 20000],
                       sentinel=False, quiet=2)
        self.assertEqual(got, b"<EOF>")

    def rss_kb(self, pid):
        return procs.rss_bytes(pid) // 1024

    def test_huge_lengths_do_not_allocate(self):
        port = self.start()
        before = self.rss_kb(self.srv.weft.pid)
        socks = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"*2147483647\r\n$536870912\r\nxyz")
            socks.append(s)
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(mb("PING"))
        self.assertEqual(s.recv(100), b"+PONG\r\n")
        after = self.rss_kb(self.srv.weft.pid)
        self.assertLess(after - before, 20 * 1024, (before, after))
        for x in socks + [s]:
            x.close()

    def test_slow_reader_is_bounded(self):
        # 1000 pipelined GETs of a 100 kB value are 100 MB of replies; a
        # client that does not read them must not make the server buffer
        # them all: it stops reading that client until the output drains.
        port = self.start()
        v = b"x" * 100000
        self.assertEqual(normalize(exchange(port, [mb("SET", "big", v)]))[0],
                         b"+OK")
        base = self.rss_kb(self.srv.weft.pid)
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        n = 1000
        s.sendall(mb("GET", "big") * n + mb("PING"))
        time.sleep(1.0)
        grown = self.rss_kb(self.srv.weft.pid) - base
        self.assertLess(grown, 30 * 1024, "RSS grew by %d kB" % grown)
        # Other clients are served meanwhile.
        self.assertEqual(normalize(exchange(port, [mb("PING")]))[0], b"+PONG")
        want = (b"$100000\r\n" + v + b"\r\n") * n + b"+PONG\r\n"
        got = bytearray()
        while len(got) < len(want):
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
        s.close()
        self.assertEqual(len(got), len(want))
        self.assertTrue(got == want)

    def test_redis_cli(self):
        if not shutil.which("redis-cli"):
            self.fail("redis-cli is not installed (scripts/deps.sh test)")
        self.start()
        script = ("SET a 1\nINCR a\nGET a\nMSET x 1 y 2\nMGET x y nope\n"
                  "EXPIRE a 100\nTTL a\nDEL a x y\nDBSIZE\nPING\n"
                  "ECHO \"two words\"\nGET nope\nINCR\nCLIENT SETNAME cli\n"
                  "CLIENT GETNAME\nSELECT 2\nDBSIZE\n")
        outs = []
        for port in (self.srv.redis_port, self.srv.weft_port):
            subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"],
                           timeout=10, check=True, capture_output=True)
            p = subprocess.run(["redis-cli", "-p", str(port)], input=script,
                               timeout=20, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            # Error texts: first word only.
            outs.append(re.sub(r"^(\(error\) )?ERR .*$", "ERR", p.stdout,
                               flags=re.M))
        self.assertEqual(outs[0], outs[1])
        self.assertIn("two words", outs[1])
        # Single commands from the argument list, with --no-raw formatting.
        p = subprocess.run(["redis-cli", "--no-raw", "-p",
                            str(self.srv.weft_port), "MGET", "nope", "cli"],
                           timeout=10, capture_output=True, text=True)
        self.assertEqual(p.stdout, "1) (nil)\n2) (nil)\n")

    def test_redis_cli_interactive_start(self):
        # The interactive prompt first asks COMMAND DOCS; it must start and
        # answer commands.
        import pty
        self.start()
        pid, fd = pty.fork()
        if pid == 0:
            # A window size, or linenoise asks the terminal for the cursor
            # position and waits for the answer.
            import fcntl
            import struct
            import termios
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            os.execvp("redis-cli", ["redis-cli", "-p", str(self.srv.weft_port)])
        out = b""

        def read_until(want, seconds=10):
            import select
            nonlocal out
            deadline = time.monotonic() + seconds
            while want not in out and time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    out += os.read(fd, 4096)
        try:
            # Type only once the prompt is up: linenoise switches the
            # terminal to raw mode with TCSAFLUSH, which throws away
            # anything typed before (seen on a loaded machine).
            read_until(b"> ")
            os.write(fd, b"PING\r")          # Enter, in raw mode
            read_until(b"PONG")
            os.write(fd, b"quit\r")
        finally:
            for _ in range(50):
                p, _ = os.waitpid(pid, os.WNOHANG)
                if p:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            os.close(fd)
        self.assertIn(b"PONG", out)

    def test_redis_cli_pipe(self):
        port = self.start()
        data = mb("FLUSHALL") + b"".join(mb("SET", "p%d" % i, "v") for i in range(1000))
        p = subprocess.run(["redis-cli", "-p", str(port), "--pipe"],
                           input=data, timeout=30, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # redis-cli counts its closing ECHO as a reply, or not, depending on
        # how the last read was cut.
        self.assertRegex(p.stdout, rb"errors: 0, replies: 100[01]\n")
        got = normalize(exchange(port, [mb("DBSIZE")]))
        self.assertEqual(got[0], b":1000")

    def test_redis_benchmark(self):
        port = self.start()
        for extra in ([], ["-P", "16"]):
            p = subprocess.run(
                ["redis-benchmark", "-p", str(port), "-n", "2000", "-c", "10",
                 "-q", "-t", "ping_inline,ping_mbulk,set,get,incr,mset"] + extra,
                timeout=120, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            out = p.stdout.replace("\r", "\n")
            for name in ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR",
                         "MSET"):
                self.assertRegex(out, r"(?m)^%s.*: [0-9.]+ requests per second"
                                 % name)
            self.assertNotIn("WARN", p.stderr)
        got = normalize(exchange(port, [mb("GET", "counter:__rand_int__")]))
        self.assertEqual(got[0], b"$%d" % 4000)


if __name__ == "__main__":
    unittest.main()
