"""libmemcached's command-line clients (Debian libmemcached-tools: memccp,
memccat, memcrm, memcexist, memctouch, memcflush, memcping, memcstat,
memcslap, memccapable) against weft-memcached, each run also against
memcached where the output can be compared.  Everything has a timeout; the
servers are stopped by pid.

The binary comes from $WEFT_BIN (default build/asan/bin).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.integration.test_memcache import Server

TOOLS = ("memccp", "memccat", "memcrm", "memcexist", "memctouch",
         "memcflush", "memcping", "memcstat", "memcslap", "memccapable")


def tool(name, server, *args, timeout=120):
    cmd = [name]
    if name == "memccapable":
        # -t: its I/O timeout, 2 s by default, is tight for an ASan server
        # on a loaded machine.
        cmd += ["-h", "127.0.0.1", "-p", str(server.port), "-t", "30"]
    else:
        cmd += ["--servers=127.0.0.1:%d" % server.port]
    p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Clients(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        missing = [t for t in TOOLS if not shutil.which(t)]
        if missing:
            raise AssertionError("missing %s: install libmemcached-tools "
                                 "(scripts/deps.sh test)" % " ".join(missing))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="weft-memcache-clients-")
        self.files = []
        for name, data in (("hello.txt", b"hello\n"),
                           ("blob.bin", os.urandom(200000)),
                           ("empty", b"")):
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            self.files.append((name, path, data))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def session(self, server):
        """The same client session; returns what can be compared."""
        seen = []
        rc, out, err = tool("memccp", server, *[p for _, p, _ in self.files])
        seen.append(("memccp", rc))
        for name, _, data in self.files:
            rc, out, _ = tool("memccat", server, name)
            seen.append(("memccat " + name, rc, out))
            self.assertEqual(rc, 0, name)
            self.assertTrue(out.startswith(data), name)
        for args in (("memcexist", "hello.txt"), ("memcexist", "nope"),
                     ("memctouch", "--expire=100", "hello.txt"),
                     ("memctouch", "--expire=100", "nope"),
                     ("memcrm", "hello.txt"), ("memccat", "hello.txt"),
                     ("memcping",), ("memcflush",), ("memccat", "blob.bin")):
            rc, out, _ = tool(args[0], server, *args[1:])
            seen.append((" ".join(args), rc))
        return seen

    def test_same_session_as_memcached(self):
        with Server("memcached") as m:
            want = self.session(m)
        with Server("weft") as w:
            got = self.session(w)
        self.assertEqual(got, want)

    def test_memccapable_ascii(self):
        """libmemcached's protocol conformance checker, ASCII tests."""
        with Server("weft") as w:
            rc, out, err = tool("memccapable", w, "-a")
        self.assertEqual(rc, 0, out + err)
        self.assertIn(b"All tests passed", out + err)
        self.assertNotIn(b"[FAIL]", out + err)

    def test_memcstat(self):
        with Server("weft") as w:
            tool("memccp", w, self.files[0][1])
            rc, out, _ = tool("memcstat", w)
        self.assertEqual(rc, 0)
        self.assertIn(b"curr_items: 1", out)
        self.assertIn(b"version: ", out)

    def test_memcslap(self):
        with Server("weft") as w:
            for test in ("set", "get"):
                rc, out, err = tool("memcslap", w, "--concurrency=4",
                                    "--execute-number=500", "--test=" + test,
                                    timeout=120)
                self.assertEqual(rc, 0, out + err)
                self.assertIn(b"Time total", out)
                self.assertNotIn(b"Failure", out + err)
            rc, out, _ = tool("memcstat", w)
        stats = dict(line.strip().split(b": ", 1)
                     for line in out.splitlines() if b": " in line)
        self.assertGreaterEqual(int(stats[b"cmd_set"]), 2000)
        self.assertGreaterEqual(int(stats[b"get_hits"]), 1)


if __name__ == "__main__":
    unittest.main()
