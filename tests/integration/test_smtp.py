"""Integration tests of weft-smtpd (examples/smtpd, spec/smtp.weft): the
real server process on 127.0.0.1, driven by Python's smtplib, by swaks
(a second, independent SMTP client) and by raw sockets for every bad
sequence, split and timeout.

Programs come from $WEFT_BIN (default build/asan/bin), so under `make
test` the server runs with AddressSanitizer + LeakSanitizer; every test
stops it with SIGTERM and checks the exit status 0 and a sanitizer-free
stderr.  Maildirs live in temporary directories; every socket and wait has
a timeout; every process a test starts is killed in tearDown.
"""

import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from tests.integration import procs
from tests.integration.procs import BIN, PLAIN_BIN, SANITIZER_MARKS, TIMEOUT

HOST = "mx.test"


class Server(procs.Proc):
    """A running weft-smtpd; stderr is collected by a thread."""

    def __init__(self, maildir, *args, bin_dir=BIN,
                 listen="tcp:0:interface=127.0.0.1"):
        super().__init__([os.path.join(bin_dir, "weft-smtpd"), "--listen",
                          listen, "--maildir", maildir, "--hostname", HOST] +
                         list(args))
        try:
            self.addr = self.wait_listening(1)[0]
        except AssertionError:
            self.kill()
            raise
        self.port = (procs.tcp_port(self.addr)
                     if self.addr.startswith("tcp") else None)


class Client:
    """A raw SMTP connection: send bytes, read CRLF replies."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def reply(self):
        """One whole reply (multiline joined by \\n)."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def code(self):
        return int(self.reply()[:3])

    def cmd(self, text):
        self.send(text.encode("latin-1") + b"\r\n")
        return self.reply()

    def closed(self, timeout=TIMEOUT):
        """True if the server closes the connection (after any pending
        bytes) within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        finally:
            self.s.settimeout(TIMEOUT)

    def close(self):
        self.s.close()


def wait_for(pred, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class SmtpTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="weft-smtp-test-")
        self.maildir = os.path.join(self.tmp, "Maildir")
        self.servers = []
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for s in self.servers:
            s.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- helpers ------------------------------------------------------
    def server(self, *args, **kw):
        s = Server(self.maildir, *args, **kw)
        self.servers.append(s)
        return s

    def client(self, srv, greet=True):
        c = Client(srv.port)
        self.clients.append(c)
        if greet:
            self.assertEqual(c.reply(), "220 %s ESMTP weft-smtpd ready" %
                             HOST)
        return c

    def stop_cleanly(self, srv):
        rc, err = srv.stop()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.assertEqual(rc, 0, err)

    def files(self, sub):
        return sorted(os.listdir(os.path.join(self.maildir, sub)))

    def messages(self):
        """The stored messages in new/, oldest first, as bytes."""
        out = []
        for name in self.files("new"):
            with open(os.path.join(self.maildir, "new", name), "rb") as f:
                out.append(f.read())
        return out

    def split_trace(self, msg):
        """(Return-Path value, Received header, rest) of a stored
        message."""
        m = re.match(rb"Return-Path: (<[^>\n]*>)\n(Received: [^\n]*\n"
                     rb"(?:\t[^\n]*\n)*)", msg)
        self.assertIsNotNone(m, msg[:300])
        return m.group(1).decode(), m.group(2).decode(), msg[m.end():]

    def open_transaction(self, c, rcpts=("b@y.test",), sender="a@x.test"):
        self.assertTrue(c.cmd("EHLO client.test").startswith("250-"))
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), "250 OK")
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r), "250 OK")
        self.assertEqual(c.cmd("DATA")[:3], "354")

    # ---- smtplib --------------------------------------------------------
    def test_smtplib_several_recipients(self):
        srv = self.server()
        body = ("From: a@x.test\r\nTo: b@y.test\r\nSubject: several\r\n\r\n"
                "line one\r\nline two\r\n")
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT) as s:
            code, resp = s.ehlo("client.test")
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("pipelining"))
            self.assertEqual(s.esmtp_features["size"], "10485760")
            self.assertTrue(s.has_extn("8bitmime"))
            refused = s.sendmail("a@x.test",
                                 ["b@y.test", "c@y.test", "d@z.test"], body)
            self.assertEqual(refused, {})
            self.assertEqual(s.noop()[0], 250)
            self.assertEqual(s.verify("b@y.test")[0], 252)
        msgs = self.messages()
        self.assertEqual(len(msgs), 1)
        rp, received, rest = self.split_trace(msgs[0])
        self.assertEqual(rp, "<a@x.test>")
        self.assertIn("Received: from client.test ([127.0.0.1])", received)
        self.assertIn("by mx.test (weft-smtpd) with ESMTP id", received)
        self.assertEqual(rest, body.replace("\r\n", "\n").encode())
        self.assertEqual(self.files("tmp"), [])
        self.stop_cleanly(srv)

    def test_smtplib_dot_lines(self):
        srv = self.server()
        body = ("Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nend.\r\n"
                "...\r\n. \r\n")
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT) as s:
            self.assertEqual(s.sendmail("a@x.test", ["b@y.test"], body), {})
            # A message whose text starts with a dot line, and an empty one.
            self.assertEqual(s.sendmail("a@x.test", ["b@y.test"],
                                        ".\r\nx\r\n"), {})
            self.assertEqual(s.sendmail("<>", ["b@y.test"], ""), {})
        msgs = self.messages()
        self.assertEqual(len(msgs), 3)
        rests = sorted(self.split_trace(m)[2] for m in msgs)
        self.assertEqual(rests, sorted([
            body.replace("\r\n", "\n").encode(), b".\nx\n",
            b"\n"]))   # smtplib ends an empty text with a CRLF
        self.stop_cleanly(srv)

    def test_smtplib_8bit_body(self):
        srv = self.server()
        body = ("Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n"
                "caf\u00e9 \u00fcber \u65e5\u672c\r\n").encode("utf-8")
        body += b"raw bytes \x80\xff\xfe\r\n"
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertEqual(s.sendmail("a@x.test", ["b@y.test"], body,
                                        mail_options=["BODY=8BITMIME"]), {})
        (msg,) = self.messages()
        self.assertEqual(self.split_trace(msg)[2],
                         body.replace(b"\r\n", b"\n"))
        self.stop_cleanly(srv)

    def test_smtplib_helo_only(self):
        srv = self.server()
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT) as s:
            self.assertEqual(s.helo("old.client")[0], 250)
            self.assertEqual(s.sendmail("a@x.test", ["b@y.test"],
                                        "Subject: helo\r\n\r\nhi\r\n"), {})
        (msg,) = self.messages()
        self.assertIn("with SMTP id", self.split_trace(msg)[1])
        self.stop_cleanly(srv)

    def test_smtplib_size_refused(self):
        srv = self.server("--max-size", "2000")
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertEqual(s.esmtp_features["size"], "2000")
            # smtplib declares SIZE= itself when the server offers SIZE.
            with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
                s.sendmail("a@x.test", ["b@y.test"], "x" * 70 + "\r\n" * 50
                           + "y" * 3000)
            self.assertEqual(cm.exception.smtp_code, 552)
            # The session goes on.
            self.assertEqual(s.sendmail("a@x.test", ["b@y.test"],
                                        "small\r\n"), {})
        self.assertEqual(len(self.messages()), 1)
        self.stop_cleanly(srv)

    # ---- swaks ---------------------------------------------------------
    def swaks(self, srv, *args):
        if shutil.which("swaks") is None:
            self.fail("swaks is not installed (scripts/deps.sh test)")
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(srv.port),
             "--helo", "swaks.test", "--timeout", "10"] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=TIMEOUT)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def test_swaks(self):
        srv = self.server()
        body = "first line\n.\n..two dots\nlast line"
        rc, out = self.swaks(srv, "--from", "s@x.test", "--to",
                             "r1@y.test,r2@y.test", "--body", body,
                             "--header", "Subject: via swaks")
        self.assertEqual(rc, 0, out)
        self.assertIn("<-  250-PIPELINING", out)
        self.assertRegex(out, r"<-  250 OK: queued as \S+\.mx\.test")
        rc, out = self.swaks(srv, "--pipeline", "--from", "p@x.test",
                             "--to", "r@y.test", "--body", "pipelined body")
        self.assertEqual(rc, 0, out)
        msgs = self.messages()
        self.assertEqual(len(msgs), 2)
        by_sender = {self.split_trace(m)[0]: self.split_trace(m)[2]
                     for m in msgs}
        first = by_sender["<s@x.test>"]
        self.assertIn(b"Subject: via swaks\n", first)
        # swaks stuffs the dots and appends blank lines of its own.
        self.assertIn(b"\n\nfirst line\n.\n..two dots\nlast line\n", first)
        self.assertIn(b"pipelined body\n", by_sender["<p@x.test>"])
        self.stop_cleanly(srv)

    def test_swaks_refused_recipient_limit(self):
        srv = self.server()
        rcpts = ",".join("u%d@y.test" % i for i in range(101))
        # (swaks would list every recipient in one To: line of over 1000
        # octets, which the server refuses: name them elsewhere.)
        rc, out = self.swaks(srv, "--from", "s@x.test", "--to", rcpts,
                             "--header", "To: undisclosed-recipients:;",
                             "--body", "many")
        # swaks goes on with the accepted recipients.
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.count("<** 452 Too many recipients"), 1, out)
        self.assertRegex(out, r"<-  250 OK: queued as ")
        self.assertEqual(len(self.messages()), 1)
        self.stop_cleanly(srv)

    # ---- pipelining ------------------------------------------------------
    def test_pipelined_batch(self):
        srv = self.server()
        c = self.client(srv)
        c.send(b"EHLO client.test\r\nMAIL FROM:<a@x.test>\r\n"
               b"RCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n"
               b"RCPT TO:<bad>\r\nDATA\r\n")
        replies = [c.reply() for _ in range(6)]
        self.assertTrue(replies[0].startswith("250-mx.test Hello"))
        self.assertEqual(replies[1:], [
            "250 OK", "250 OK", "250 OK", "501 Syntax: RCPT TO:<address>",
            "354 End data with <CR><LF>.<CR><LF>"])
        # Text, end, and the next transaction in one write.
        c.send(b"Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\n"
               b"RCPT TO:<b@y.test>\r\nDATA\r\n")
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        self.assertEqual([c.reply() for _ in range(3)], [
            "250 OK", "250 OK", "354 End data with <CR><LF>.<CR><LF>"])
        c.send(b".\r\nQUIT\r\n")
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        self.assertEqual(c.reply(), "221 mx.test closing connection")
        self.assertTrue(c.closed())
        self.assertEqual(len(self.messages()), 2)
        self.stop_cleanly(srv)

    def test_pipelined_batch_answered_without_more_input(self):
        """A batch of 22 commands sent in one write is answered in full,
        in order, with nothing more sent: the server neither waits for more
        input nor stops after the first command of a read.  (That the
        replies leave in one write is by construction: they go into the
        output buffer, sent after the read is parsed.)"""
        srv = self.server()
        c = self.client(srv)
        self.assertTrue(c.cmd("EHLO client.test").startswith("250-"))
        batch = b"".join(b"RCPT TO:<r%d@y.test>\r\n" % i for i in range(20))
        c.send(b"MAIL FROM:<a@x.test>\r\n" + batch + b"RSET\r\n")
        want = b"250 OK\r\n" * 22
        got = b""
        deadline = time.monotonic() + TIMEOUT
        while len(got) < len(want) and time.monotonic() < deadline:
            got += c.s.recv(65536)
        self.assertEqual(got, want)
        self.stop_cleanly(srv)

    def test_pipelined_replies_in_one_write(self):
        """The replies to a batch leave in one write: the server's write
        syscalls (/proc/PID/io syscw) grow by one or two (the batch may
        arrive in two reads), not by one per reply."""
        if not os.path.exists("/proc/self/io"):
            self.skipTest("no /proc/PID/io (kernel without task I/O "
                          "accounting)")
        srv = self.server()

        def syscw():
            with open("/proc/%d/io" % srv.p.pid) as f:
                for line in f:
                    if line.startswith("syscw:"):
                        return int(line.split()[1])
            raise AssertionError("no syscw")

        c = self.client(srv)
        self.assertTrue(c.cmd("EHLO client.test").startswith("250-"))
        time.sleep(0.1)
        before = syscw()
        batch = b"".join(b"RCPT TO:<r%d@y.test>\r\n" % i for i in range(30))
        c.send(b"MAIL FROM:<a@x.test>\r\n" + batch + b"RSET\r\n")
        replies = [c.reply() for _ in range(32)]
        self.assertEqual(replies, ["250 OK"] * 32)
        time.sleep(0.1)
        writes = syscw() - before
        self.assertGreaterEqual(writes, 1)
        self.assertLessEqual(writes, 2)
        self.stop_cleanly(srv)

    # ---- bad sequences (raw sockets) --------------------------------------
    def test_out_of_sequence(self):
        srv = self.server()
        c = self.client(srv)
        self.assertEqual(c.cmd("MAIL FROM:<a@x.test>"),
                         "503 Error: send HELO/EHLO first")
        self.assertEqual(c.cmd("RCPT TO:<b@y.test>"),
                         "503 Error: need MAIL command")
        self.assertEqual(c.cmd("DATA"), "503 Error: need MAIL command")
        self.assertEqual(c.cmd("HELO client.test"),
                         "250 mx.test Hello client.test")
        self.assertEqual(c.cmd("RCPT TO:<b@y.test>"),
                         "503 Error: need MAIL command")
        self.assertEqual(c.cmd("DATA"), "503 Error: need MAIL command")
        self.assertEqual(c.cmd("MAIL FROM:<a@x.test>"), "250 OK")
        self.assertEqual(c.cmd("MAIL FROM:<a@x.test>"),
                         "503 Error: nested MAIL command")
        self.assertEqual(c.cmd("DATA"), "503 Error: need RCPT command")
        self.assertEqual(c.cmd("RSET"), "250 OK")
        self.assertEqual(c.cmd("RCPT TO:<b@y.test>"),
                         "503 Error: need MAIL command")
        self.assertEqual(c.cmd("QUIT"), "221 mx.test closing connection")
        self.assertTrue(c.closed())
        self.assertEqual(self.messages(), [])
        self.stop_cleanly(srv)

    def test_unknown_and_syntax_errors(self):
        srv = self.server()
        c = self.client(srv)
        self.assertTrue(c.cmd("EHLO client.test").startswith("250-"))
        for line, want in [
                ("FOO", "500 Error: command not recognized"),
                ("STARTTLS", "500 Error: command not recognized"),
                ("", "500 Error: command not recognized"),
                ("MAIL\tFROM:<a@x.test>", "500 Error: command not recognized"),
                ("EHLO", "501 Syntax: EHLO hostname"),
                ("MAIL FROM:a@x.test", "501 Syntax: MAIL FROM:<address>"),
                ("MAIL FROM:<a@x.test> SIZE=x", "501 Syntax: SIZE=<number>"),
                ("MAIL FROM:<a@x.test> SMTPUTF8",
                 "555 MAIL FROM parameter not recognized or not implemented"),
                ("MAIL FROM:<\xe9@x.test>", "501 Syntax: MAIL FROM:<address>"),
                ("VRFY", "501 Syntax: VRFY address"),
                ("VRFY postmaster", "252 Cannot VRFY user, but will accept "
                 "message and attempt delivery"),
                ("EXPN list", "502 Command not implemented"),
                ("NOOP", "250 OK"),
                ("MAIL FROM:<a@x.test>", "250 OK"),
                ("RCPT TO:b@y.test", "501 Syntax: RCPT TO:<address>"),
                ("RCPT TO:<b@y.test> NOTIFY=NEVER",
                 "555 RCPT TO parameters not recognized or not implemented"),
                ("RCPT TO:<b@y.test>", "250 OK"),
                ("DATA please", "501 Syntax: DATA"),
                ("QUIT now", "501 Syntax: QUIT")]:
            self.assertEqual(c.cmd(line), want, line)
        self.stop_cleanly(srv)

    def test_long_command_line(self):
        srv = self.server()
        c = self.client(srv)
        # 512 octets with the CRLF is the limit (RFC 5321 4.5.3.1.4).
        self.assertEqual(c.cmd("NOOP " + "x" * 505), "250 OK")
        self.assertEqual(c.cmd("NOOP " + "x" * 506), "500 Line too long")
        self.assertEqual(c.cmd("NOOP " + "y" * 100000), "500 Line too long")
        self.assertEqual(c.cmd("HELO client.test"),
                         "250 mx.test Hello client.test")
        self.stop_cleanly(srv)

    def test_long_text_line_refuses_message(self):
        srv = self.server()
        c = self.client(srv)
        self.open_transaction(c)
        # 998 octets + CRLF is fine; 999 is not (RFC 5321 4.5.3.1.6).
        c.send(b"ok\r\n" + b"a" * 998 + b"\r\n" + b"b" * 999 + b"\r\nend\r\n"
               b".\r\n")
        self.assertEqual(c.reply(), "500 Line too long (over 1000 octets); "
                         "message refused")
        # The session goes on, the same limit holds in a line split over
        # several packets.
        self.open_transaction(c)
        for _ in range(11):
            c.send(b"c" * 100)
            time.sleep(0.01)
        c.send(b"\r\n.\r\n")
        self.assertEqual(c.code(), 500)
        self.open_transaction(c)
        c.send(b"a" * 998 + b"\r\n.\r\n")
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        self.assertEqual(len(self.messages()), 1)
        self.assertEqual(self.files("tmp"), [])
        self.stop_cleanly(srv)

    def test_message_too_big(self):
        srv = self.server("--max-size", "10000")
        c = self.client(srv)
        reply = c.cmd("EHLO client.test")
        self.assertIn("250-SIZE 10000", reply)
        self.assertEqual(c.cmd("MAIL FROM:<a@x.test> SIZE=10001"),
                         "552 Message size exceeds fixed maximum message "
                         "size")
        self.assertEqual(c.cmd("MAIL FROM:<a@x.test> SIZE=500"), "250 OK")
        self.assertEqual(c.cmd("RCPT TO:<b@y.test>"), "250 OK")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        # Far more than declared and allowed: read to the end, then 552.
        line = b"z" * 98 + b"\r\n"
        for _ in range(50):
            c.send(line * 20)
        c.send(b".\r\n")
        self.assertEqual(c.reply(), "552 Message size exceeds fixed maximum "
                         "message size")
        self.assertEqual(self.files("tmp"), [])
        # Still usable: a message just at the limit goes through.
        self.open_transaction(c)
        c.send(line * 100 + b".\r\n")
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        self.assertEqual(len(self.messages()), 1)
        self.stop_cleanly(srv)

    def test_too_many_recipients(self):
        srv = self.server()
        c = self.client(srv)
        self.assertTrue(c.cmd("EHLO client.test").startswith("250-"))
        self.assertEqual(c.cmd("MAIL FROM:<a@x.test>"), "250 OK")
        c.send(b"".join(b"RCPT TO:<u%d@y.test>\r\n" % i for i in range(102)))
        replies = [c.reply() for _ in range(102)]
        self.assertEqual(replies[:100], ["250 OK"] * 100)
        self.assertEqual(replies[100:], ["452 Too many recipients"] * 2)
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send(b"hi\r\n.\r\n")
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        self.stop_cleanly(srv)

    # ---- the end of data, split at every offset -----------------------------
    def test_terminator_split_at_every_offset(self):
        """One connection; for each cut, a transaction whose text and end
        mark arrive in two packets cut there (with a pause between so the
        server reads them separately)."""
        srv = self.server()
        c = self.client(srv)
        tails = [b"Subject: s\r\n\r\n..dot\r\nlast\r\n.\r\n",  # typical
                 b".\r\n",                                    # empty message
                 b"\r\n.\r\n",                                # one empty line
                 b"..\r\n.\r\n"]                              # a "." line
        want = [b"Subject: s\n\n.dot\nlast\n", b"", b"\n", b".\n"]
        count = 0
        for tail, body in zip(tails, want):
            for cut in range(len(tail) + 1):
                self.open_transaction(c)
                c.send(tail[:cut])
                time.sleep(0.005)
                c.send(tail[cut:] + b"NOOP\r\n")
                self.assertRegex(c.reply(), r"^250 OK: queued as ",
                                 (tail, cut))
                self.assertEqual(c.reply(), "250 OK", (tail, cut))
                count += 1
                msgs = self.messages()
                self.assertEqual(len(msgs), 1, (tail, cut))
                self.assertEqual(self.split_trace(msgs[0])[2], body,
                                 (tail, cut))
                os.unlink(os.path.join(self.maildir, "new",
                                       self.files("new")[0]))
        self.assertEqual(c.cmd("QUIT"), "221 mx.test closing connection")
        self.assertGreater(count, 20)
        self.stop_cleanly(srv)

    def test_terminator_byte_by_byte(self):
        srv = self.server()
        c = self.client(srv)
        self.open_transaction(c)
        for b in b"x\r\n..\r\n.\r\n":
            c.send(bytes([b]))
            time.sleep(0.002)
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        (msg,) = self.messages()
        self.assertEqual(self.split_trace(msg)[2], b"x\n.\n")
        self.stop_cleanly(srv)

    # ---- connection loss ----------------------------------------------------
    def test_disconnect_mid_data_leaves_nothing(self):
        srv = self.server()
        for tail in (b"", b"Subject: x\r\n\r\npartial", b"body\r\n",
                     b"body\r\n.", b"body\r\n.\r"):
            c = self.client(srv)
            self.open_transaction(c)
            c.send(tail)
            # The file exists in tmp/ while the text comes in ...
            self.assertTrue(wait_for(lambda: len(self.files("tmp")) == 1))
            c.s.shutdown(socket.SHUT_RDWR)
            c.close()
            # ... and is gone once the connection is lost, never in new/.
            self.assertTrue(wait_for(lambda: self.files("tmp") == []),
                            tail)
            self.assertEqual(self.files("new"), [])
        # An abortive close (RST) too.
        c = self.client(srv)
        self.open_transaction(c)
        c.send(b"some text\r\n")
        self.assertTrue(wait_for(lambda: len(self.files("tmp")) == 1))
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        self.assertTrue(wait_for(lambda: self.files("tmp") == []))
        self.assertEqual(self.files("new"), [])
        self.stop_cleanly(srv)

    # ---- timeouts (shortened) ------------------------------------------------
    # The margins are wide (a client acts every 0.3 s against a 1.5 s
    # timeout) so a loaded machine does not make these flaky.
    def test_command_timeout(self):
        srv = self.server("--command-timeout", "1.5")
        c = self.client(srv)
        start = time.monotonic()
        self.assertEqual(c.reply(), "421 mx.test Timeout waiting for client "
                         "input, closing connection")
        self.assertGreater(time.monotonic() - start, 1.0)
        self.assertTrue(c.closed(5))
        self.assertLess(time.monotonic() - start, 8)
        # Commands keep a session alive well past the timeout.
        c = self.client(srv)
        start = time.monotonic()
        for _ in range(8):
            time.sleep(0.3)
            self.assertEqual(c.cmd("NOOP"), "250 OK")
        self.assertGreater(time.monotonic() - start, 2.0)
        self.assertEqual(c.reply()[:3], "421")
        self.assertTrue(c.closed(5))
        self.stop_cleanly(srv)

    def test_data_timeout(self):
        srv = self.server("--data-timeout", "1.5")
        c = self.client(srv)
        self.open_transaction(c)
        start = time.monotonic()
        for _ in range(8):
            time.sleep(0.3)
            c.send(b"more text\r\n")      # text keeps it alive
        self.assertGreater(time.monotonic() - start, 2.0)
        self.assertTrue(wait_for(lambda: len(self.files("tmp")) == 1))
        self.assertEqual(c.reply()[:3], "421")
        self.assertTrue(c.closed(5))
        self.assertTrue(wait_for(lambda: self.files("tmp") == []))
        self.assertEqual(self.files("new"), [])
        self.stop_cleanly(srv)

    # ---- bounded memory -------------------------------------------------------
    def test_large_message_streams_to_disk(self):
        """A 32 MiB message goes through a server whose peak memory grows
        by less than half of that: the text is streamed to tmp/.  Uses the
        plain (unsanitized) build, whose memory figures mean something."""
        binary = os.path.join(PLAIN_BIN, "weft-smtpd")
        if not os.path.exists(binary):
            self.fail("no plain build at %s" % binary)
        srv = self.server("--max-size", "0", bin_dir=PLAIN_BIN)

        def hwm_kib():
            with open("/proc/%d/status" % srv.p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
            raise AssertionError("no VmHWM")

        c = self.client(srv)
        self.open_transaction(c)
        before = hwm_kib()
        line = b"m" * 998 + b"\r\n"
        chunk = line * 1024            # 1 MiB
        for _ in range(32):
            c.send(chunk)
        c.send(b".\r\n")
        c.s.settimeout(120)             # the final fsync of 32 MiB
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        grown = hwm_kib() - before
        self.assertLess(grown, 16 * 1024, "peak RSS grew by %d KiB" % grown)
        name = self.files("new")[0]
        size = os.path.getsize(os.path.join(self.maildir, "new", name))
        self.assertGreater(size, 32 * 1024 * 999)
        self.stop_cleanly(srv)

    # ---- other transports -------------------------------------------------
    def test_ipv6_peer_in_received(self):
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        srv = self.server(listen=r"tcp6:0:interface=\:\:1")
        with smtplib.SMTP("::1", srv.port, timeout=TIMEOUT) as s:
            self.assertEqual(s.sendmail("a@x.test", ["b@y.test"], "hi\r\n"),
                             {})
        (msg,) = self.messages()
        self.assertIn("([IPv6:::1])", self.split_trace(msg)[1])
        self.stop_cleanly(srv)

    def test_unix_socket(self):
        path = os.path.join(self.tmp, "smtp.sock")
        srv = self.server(listen="unix:" + path)
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(TIMEOUT)
        s.connect(path)
        c = Client.__new__(Client)
        c.s, c.buf = s, b""
        self.clients.append(c)
        self.assertEqual(c.reply()[:3], "220")
        self.open_transaction(c)
        c.send(b"over a unix socket\r\n.\r\nQUIT\r\n")
        self.assertRegex(c.reply(), r"^250 OK: queued as ")
        self.assertEqual(c.reply()[:3], "221")
        (msg,) = self.messages()
        _, received, rest = self.split_trace(msg)
        self.assertIn("Received: from client.test (unknown)", received)
        self.assertEqual(rest, b"over a unix socket\n")
        self.stop_cleanly(srv)

    # ---- the command line ------------------------------------------------------
    def run_prog(self, *args):
        r = subprocess.run([os.path.join(BIN, "weft-smtpd")] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def test_usage_errors(self):
        rc, out, err = self.run_prog("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--maildir DIR", out)
        rc, _, err = self.run_prog("--listen", "tcp:0")
        self.assertEqual(rc, 2)
        self.assertIn("--maildir DIR is required", err)
        rc, _, err = self.run_prog("--maildir", self.maildir)
        self.assertEqual(rc, 2)
        rc, _, err = self.run_prog("--listen", "tcp:0", "--maildir",
                                   self.maildir, "--max-size", "lots")
        self.assertEqual(rc, 2)
        rc, _, err = self.run_prog("--listen", "tcp:0", "--maildir",
                                   self.maildir, "--command-timeout", "-1")
        self.assertEqual(rc, 2)
        # A maildir that cannot be created is a runtime failure.
        blocker = os.path.join(self.tmp, "file")
        open(blocker, "w").close()
        rc, _, err = self.run_prog("--listen", "tcp:0:interface=127.0.0.1",
                                   "--maildir", blocker)
        self.assertEqual(rc, 1)
        self.assertIn("maildir %s" % blocker, err)

    def test_creates_maildir(self):
        srv = self.server()
        for sub in ("tmp", "new", "cur"):
            self.assertTrue(os.path.isdir(os.path.join(self.maildir, sub)))
        self.stop_cleanly(srv)


if __name__ == "__main__":
    unittest.main()
