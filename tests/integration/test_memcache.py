"""weft-memcached against memcached 1.6 (Debian package), side by side.

Each comparison starts a fresh memcached (`memcached -t 1 -U 0`) and a fresh
weft-memcached on free ports of 127.0.0.1, sends both the same byte
stream -- whole, one byte at a time, or split at every offset -- and
compares the replies after normalising cas ids and the version text.  The
streams are those of tests/unit/cases/memcache_server.cases plus the cases
below that need a socket (big items, long lines, real time, closes).
Everything has a timeout; the servers are stopped by pid.

The binary comes from $WEFT_BIN (default build/asan/bin).
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from tests.integration import procs
from tests.integration.procs import free_port

BIN = os.path.abspath(os.environ.get("WEFT_BIN", "build/asan/bin"))
WEFT = os.path.join(BIN, "weft-memcached")
HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "unit", "cases", "memcache_server.cases")

# Appended to a stream: its reply marks the end of the stream's replies.
SENTINEL = b"set __end__ 0 0 5\r\n12345\r\nget __end__\r\n"
SENTINEL_REPLY = b"STORED\r\nVALUE __end__ 0 5\r\n12345\r\nEND\r\n"


class Server:
    """One server process on a free port; a context manager."""

    def __init__(self, kind, args=()):
        self.port = free_port()
        self.kind = kind
        self.err = tempfile.TemporaryFile()
        if kind == "memcached":
            user = ["-u", "root"] if os.geteuid() == 0 else []
            cmd = ["memcached", "-t", "1", "-l", "127.0.0.1", "-p",
                   str(self.port), "-U", "0"] + user + list(args)
        else:
            cmd = [WEFT, "--listen", "tcp:%d:interface=127.0.0.1" % self.port]
            cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        try:
            procs.wait_port(self.port, self.proc, interval=0.02)
        except Exception:
            procs.stop(self.proc)
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # memcached takes a second to stop on SIGTERM; weft-memcached must
        # stop cleanly (its sanitizers report at exit).
        procs.stop(self.proc, signal.SIGTERM if self.kind != "memcached"
                   else signal.SIGKILL)
        if self.kind != "memcached" and exc[0] is None:
            assert self.proc.returncode == 0, \
                "weft-memcached exited with %d" % self.proc.returncode
        self.err.seek(0)
        text = self.err.read().decode("latin1")
        self.err.close()
        if any(mark in text for mark in procs.SANITIZER_MARKS):
            raise AssertionError("sanitizer report:\n" + text[-4000:])

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def read_reply(sock, until=None, timeout=10.0):
    """Reads until the data ends with `until` (or until(data) is true), or
    EOF.  Returns (data, closed)."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        if until is not None and (until(data) if callable(until)
                                  else data.endswith(until)):
            return data, False
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("reply timed out; so far %r" % data[-300:])
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def exchange(server, chunks, pause=0.0):
    """Sends the chunks (then the sentinel) on one connection; returns the
    replies without the sentinel's, and whether the server closed."""
    with server.connect() as s:
        for i, c in enumerate(chunks):
            try:
                s.sendall(c)
            except (BrokenPipeError, ConnectionResetError):
                break
            if pause and i + 1 < len(chunks):
                time.sleep(pause)
        try:
            s.sendall(SENTINEL)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = read_reply(s, SENTINEL_REPLY)
    if not closed:
        data = data[:-len(SENTINEL_REPLY)]
    return data, closed


def normalise(data, cas=True):
    data = re.sub(rb"^VERSION [^\r\n]*\r$", b"VERSION x\r", data, flags=re.M)
    if cas:
        data = re.sub(rb"^(VALUE \S+ \d+ \d+) \d+\r$", rb"\1 CAS\r", data,
                      flags=re.M)
    data = re.sub(rb"^STAT (pid|uptime|time|version) [^\r\n]*\r$",
                  rb"STAT \1 x\r", data, flags=re.M)
    return data


def load_cases():
    cases, cur, part = [], None, None
    with open(CASES, encoding="latin1") as f:
        for line in f.read().split("\n"):
            if line.startswith("=== "):
                cur = {"title": line[4:], "in": ""}
                cases.append(cur)
                part = None
            elif cur is not None and line in ("<<<", ">>>"):
                part = line
            elif cur is not None and part == "<<<" and line:
                cur["in"] += line
    for c in cases:
        c["in"] = c["in"].encode("latin1").decode(
            "unicode_escape").encode("latin1")
    return cases


def random_stream(rng, ncommands):
    """A command stream mixing well-formed and malformed commands over a
    few keys, as memcached's tests would not think of.  Left out: what
    memcached answers differently depending on how its reads fall (a get
    with an over-long key, closes) and what depends on the clock."""
    keys = [b"a", b"b", b"n", b"k\x01", b"key:with:colons"]
    out = []

    def key():
        return rng.choice(keys)

    def num():
        return rng.choice([b"0", b"1", b"7", b"42", b"100", b"-1", b"x",
                           b"4294967296", b"18446744073709551615", b"007"])

    def exptime():
        return rng.choice([b"0", b"0", b"1000", b"-1", b"2592001"])

    def value():
        # no value of white space only: memcached's incr reads on past
        # such a value's end into whatever memory follows
        return rng.choice([b"1", b"99", b"hello", b"", b"18446744073709551614",
                           b" 5", b"a b", b"\r\nx", b"12345678901234567890"])

    for _ in range(ncommands):
        op = rng.randrange(14)
        noreply = b" noreply" if rng.random() < 0.2 else b""
        sp = b" " * rng.choice([1, 1, 1, 2])
        if op < 5:
            cmd = [b"set", b"add", b"replace", b"append", b"prepend"][op]
            v = value()
            n = len(v) if rng.random() < 0.9 else len(v) + rng.choice(
                [-1, 1])
            flags = rng.choice([b"0", b"0", b"3", b"4294967295"])
            out.append(cmd + sp + key() + b" " + flags + b" " + exptime() +
                       b" " + str(n).encode() + noreply + b"\r\n" + v +
                       b"\r\n")
        elif op == 5:
            v = value()
            cas = rng.choice([b"0", b"1", b"2", b"3", b"5", b"8", b"13"])
            out.append(b"cas " + key() + b" 0 0 " + str(len(v)).encode() +
                       b" " + cas + noreply + b"\r\n" + v + b"\r\n")
        elif op == 6:
            ks = b" ".join(rng.choice(keys) for _ in range(rng.randint(1, 4)))
            out.append(rng.choice([b"get ", b"gets "]) + ks + b"\r\n")
        elif op == 7:
            out.append(rng.choice([b"gat ", b"gats "]) + exptime() + b" " +
                       key() + b"\r\n")
        elif op == 8:
            out.append(rng.choice([b"incr ", b"decr "]) + key() + b" " +
                       num() + noreply + b"\r\n")
        elif op == 9:
            out.append(b"delete " + key() + rng.choice([b"", b" 0", b" 1"]) +
                       noreply + b"\r\n")
        elif op == 10:
            out.append(b"touch " + key() + b" " + exptime() + noreply +
                       b"\r\n")
        elif op == 11:
            out.append(rng.choice([b"flush_all\r\n", b"flush_all 0\r\n",
                                   b"flush_all noreply\r\n",
                                   b"verbosity 1\r\n", b"version\r\n"]))
        elif op == 12:
            out.append(rng.choice([b"bogus\r\n", b"\r\n", b"get\r\n",
                                   b"set a 0 0\r\n", b"incr a\r\n",
                                   b"touch a\r\n", b"delete\r\n",
                                   b"gets  a  b  \r\n", b"get a\n"]))
        else:
            out.append(b"get " + b" ".join(keys) + b"\r\n")
    # a data block one byte too long may still wait for that byte
    return b"".join(out) + b"\r\n"


class SideBySide(unittest.TestCase):
    """The same bytes to both servers, fresh ones for every stream."""

    def compare(self, chunks, weft_chunks=None, args=(), weft_args=(),
                pause=0.0, title=""):
        with Server("memcached", args) as m:
            want = exchange(m, chunks)
        with Server("weft", weft_args) as w:
            got = exchange(w, weft_chunks or chunks, pause)
        self.assertEqual((normalise(got[0]), got[1]),
                         (normalise(want[0]), want[1]), title)
        return got

    def test_recorded_streams_whole(self):
        for c in load_cases():
            with self.subTest(c["title"]):
                self.compare([c["in"]], title=c["title"])

    def test_recorded_streams_bytewise(self):
        for c in load_cases():
            if len(c["in"]) > 3000:
                continue
            with self.subTest(c["title"]):
                data = c["in"]
                self.compare([data], [data[i:i + 1] for i in
                                      range(len(data))],
                             title=c["title"])

    def test_random_streams(self):
        """Random command streams on fresh servers: the replies are equal
        byte for byte, cas ids included."""
        import random
        rng = random.Random(20261122)
        for i in range(60):
            data = random_stream(rng, 40)
            with Server("memcached") as m:
                want = exchange(m, [data])
            with Server("weft") as w:
                got = exchange(w, [data])
            cut = rng.randrange(1, len(data))
            with Server("weft") as w:
                split = exchange(w, [data[:cut], data[cut:]], pause=0.002)
            self.assertEqual(
                (normalise(got[0], cas=False), got[1]),
                (normalise(want[0], cas=False), want[1]),
                "stream %d: %r" % (i, data))
            self.assertEqual(split, got, "stream %d split at %d" % (i, cut))

    def test_every_split(self):
        """Every split point of a mixed stream, on one pair of servers
        (each run starts with flush_all; cas ids are normalised)."""
        data = (b"flush_all\r\nset a 1 0 5\r\nhello\r\nget a b\r\n"
                b"incr n 1\r\nset n 0 0 2\r\n10\r\ndecr n 3\r\n"
                b"append a 0 0 2\r\n!!\r\ngets a\r\nbogus\r\n"
                b"set x 0 0 1\r\nxy\r\ndelete a noreply\r\nget a n\r\n")
        with Server("memcached") as m, Server("weft") as w:
            want = normalise(exchange(m, [data])[0])
            for i in range(1, len(data)):
                got = exchange(w, [data[:i], data[i:]], pause=0.002)
                self.assertEqual(normalise(got[0]), want, "split at %d" % i)

    def test_cas_round_trip(self):
        """gets hands out cas ids that cas then uses, on both servers."""
        for kind in ("memcached", "weft"):
            with Server(kind) as srv, srv.connect() as s:
                s.sendall(b"set k 0 0 1\r\nx\r\ngets k\r\n")
                data, _ = read_reply(s, b"END\r\n")
                cas = int(re.search(rb"VALUE k 0 1 (\d+)", data).group(1))
                s.sendall(b"cas k 0 0 1 %d\r\ny\r\n" % (cas + 1))
                self.assertEqual(read_reply(s, b"\r\n")[0], b"EXISTS\r\n")
                s.sendall(b"cas k 0 0 1 %d\r\ny\r\n" % cas)
                self.assertEqual(read_reply(s, b"\r\n")[0], b"STORED\r\n")
                s.sendall(b"cas k 0 0 1 %d noreply\r\nz\r\nget k\r\n" % cas)
                self.assertEqual(read_reply(s, b"END\r\n")[0],
                                 b"VALUE k 0 1\r\ny\r\nEND\r\n", kind)

    def test_object_too_large(self):
        """Over the item size limit: SERVER_ERROR, the data is swallowed,
        a failed set removes the old value."""
        big = b"x" * (2 << 20)
        data = (b"set k 0 0 1\r\n1\r\nset k 0 0 %d\r\n%s\r\nget k\r\n"
                b"add j 0 0 %d noreply\r\n%s\r\nget j\r\n"
                % (len(big), big, len(big), big))
        self.compare([data])
        self.compare([data[i:i + 65536] for i in range(0, len(data), 65536)])

    def test_item_size_limit_boundary(self):
        """The largest value that fits in the default 1 MB item limit."""
        for n in (1048516, 1048517):
            data = b"set k 0 0 %d\r\n%s\r\nget k\r\n" % (n, b"v" * n)
            got = self.compare([data], title=str(n))
            self.assertEqual(got[0].startswith(b"STORED"), n == 1048516)

    def test_max_item_size_option(self):
        data = b"set k 0 0 3000\r\n%s\r\nget k\r\n" % (b"v" * 3000)
        self.compare([data], args=("-I", "2k", "-o", "slab_chunk_max=1024"),
                     weft_args=("--max-item-size", "2k"))

    def test_long_line_closes(self):
        """Over 2048 bytes without a newline: both hang up (unless get)."""
        self.compare([b"set " + b"k" * 20000])
        line = b"get " + b" ".join(b"key%05d" % i for i in range(3000))
        self.compare([b"set key00007 0 0 1\r\nv\r\n", line + b"\r\n"],
                     pause=0.01)

    def test_http_request_closes(self):
        self.compare([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"])

    def test_quit(self):
        self.compare([b"set a 0 0 1\r\nx\r\n", b"quit\r\nget a\r\n"],
                     pause=0.01)

    def test_expiry_in_real_time(self):
        # 2 s, not 1: a second boundary may pass between set and get
        data = (b"set a 0 2 1\r\nx\r\nset b 0 100 1\r\ny\r\n"
                b"set c 0 %d 1\r\nz\r\n" % (int(time.time()) + 2))
        for kind in ("memcached", "weft"):
            with Server(kind) as srv, srv.connect() as s:
                s.sendall(data + b"get a b c\r\n")
                first, _ = read_reply(s, b"END\r\n")
                self.assertIn(b"VALUE a", first, kind)
                time.sleep(3.2)
                s.sendall(b"get a b c\r\ntouch b 1\r\n")
                later, _ = read_reply(s, b"TOUCHED\r\n")
                self.assertEqual(later, b"VALUE b 0 1\r\ny\r\nEND\r\n"
                                 b"TOUCHED\r\n", kind)

    def test_delayed_flush_all(self):
        for kind in ("memcached", "weft"):
            with Server(kind) as srv, srv.connect() as s:
                s.sendall(b"set a 0 0 1\r\nx\r\nflush_all 3\r\nget a\r\n")
                self.assertEqual(read_reply(s, b"END\r\n")[0],
                                 b"STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND"
                                 b"\r\n", kind)
                # memcached's clock moves once a second: leave it time to
                # pass the deadline (one second early) with margin
                time.sleep(4.5)
                s.sendall(b"get a\r\nset b 0 0 1\r\ny\r\nget b\r\n")
                self.assertEqual(read_reply(s, b"y\r\nEND\r\n")[0],
                                 b"END\r\nSTORED\r\nVALUE b 0 1\r\ny\r\nEND"
                                 b"\r\n", kind)


class WeftOnly(unittest.TestCase):

    def test_memory_limit_evicts_lru(self):
        """--memory 1: items are evicted oldest first, bytes stay under the
        limit, a key read all along survives."""
        with Server("weft", ("--memory", "1")) as w, w.connect() as s:
            value = b"v" * 1000
            batch = []
            for i in range(5000):
                batch.append(b"set k%d 0 0 1000 noreply\r\n%s\r\n"
                             % (i, value))
                if i % 50 == 0:
                    batch.append(b"get k0\r\n")
            s.sendall(b"".join(batch) + b"stats\r\n")
            stats, _ = read_reply(
                s, lambda d: b"STAT evictions" in d and d.endswith(b"END\r\n"),
                timeout=60)
            self.assertEqual(stats.count(b"VALUE k0 "), 100)
            st = dict(re.findall(rb"STAT (\S+) (\S+)\r\n", stats))
            self.assertLessEqual(int(st[b"bytes"]), 1 << 20)
            self.assertGreater(int(st[b"evictions"]), 3000)
            s.sendall(b"get k0 k1 k4999\r\n")
            got, _ = read_reply(s, b"END\r\n")
            self.assertIn(b"VALUE k0 ", got)
            self.assertIn(b"VALUE k4999 ", got)
            self.assertNotIn(b"VALUE k1 ", got)

    def test_many_connections_interleaved(self):
        with Server("weft") as w:
            socks = [w.connect() for _ in range(50)]
            try:
                for i, s in enumerate(socks):
                    s.sendall(b"set c%d 0 0 2\r\n" % i)
                for i, s in enumerate(socks):
                    s.sendall(b"%02d\r\nget c%d\r\n" % (i, i))
                for i, s in enumerate(socks):
                    got, _ = read_reply(s, b"END\r\n")
                    self.assertEqual(got, b"STORED\r\nVALUE c%d 0 2\r\n%02d"
                                     b"\r\nEND\r\n" % (i, i))
            finally:
                for s in socks:
                    s.close()

    def test_stats(self):
        with Server("weft") as w, w.connect() as s:
            s.sendall(b"set a 0 0 1\r\nx\r\nget a\r\n")
            read_reply(s, b"END\r\n")
            # the start-up probe's connection may still be closing: the
            # count must come down to this one connection
            deadline = time.monotonic() + 5
            while True:
                s.sendall(b"stats\r\n")
                got, _ = read_reply(s, b"\r\nEND\r\n")
                st = dict(re.findall(rb"STAT (\S+) (\S+)\r\n", got))
                if st[b"curr_connections"] == b"1" or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(st[b"curr_connections"], b"1")
            self.assertEqual(st[b"curr_items"], b"1")
            self.assertEqual(st[b"get_hits"], b"1")
            self.assertEqual(st[b"pid"], str(w.proc.pid).encode())
            self.assertGreater(int(st[b"bytes_read"]), 20)

    def test_usage_errors(self):
        for args in ([], ["--memory", "x", "--listen", "tcp:0"],
                     ["--max-item-size", "-5", "--listen", "tcp:0"],
                     ["--bogus"], ["--listen", "tcp:notaport"]):
            p = subprocess.run([WEFT] + args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"weft-memcached:", p.stderr)
        p = subprocess.run([WEFT, "--help"], stdout=subprocess.PIPE,
                           timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"--max-item-size", p.stdout)


if __name__ == "__main__":
    unittest.main()
