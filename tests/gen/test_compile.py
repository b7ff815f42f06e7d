"""The generated C compiles cleanly, and behaves as the language says.

- Every spec/*.weft: NAME.c, a file including NAME_trace.c and the --stub
  skeleton compile with -std=gnu11 -Wall -Wextra -Werror -pedantic (gcc).
- A feature spec exercising what the shipped specs do not (per-mode
  delimiters, "\\0" and multi-byte delimiters, optional captures, grammar
  without captures, `empty`, `empty ->`, `next`, `raw until` with a cap)
  is compiled with the runtime under ASan/UBSan and run over inputs whole,
  at every split point and at every chunk size; the traces must agree with
  each other and with the expected one.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WEFTC = os.path.join(ROOT, 'gen', 'weftc.py')
CC = os.environ.get('CC', 'cc')
WARN = ['-std=gnu11', '-O1', '-Wall', '-Wextra', '-Werror', '-Wshadow',
        '-Wstrict-prototypes', '-Wmissing-prototypes', '-pedantic',
        '-D_GNU_SOURCE']


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=300, **kw)


def event_cflags():
    p = run(['pkg-config', '--cflags', 'libevent'])
    return p.stdout.split() if p.returncode == 0 else []


class EverySpecCompiles(unittest.TestCase):
    def test_every_spec(self):
        specs = sorted(glob.glob(os.path.join(ROOT, 'spec', '*.weft')))
        self.assertTrue(specs)
        with tempfile.TemporaryDirectory(prefix='weftc-cc-') as d:
            for spec in specs:
                name = os.path.splitext(os.path.basename(spec))[0]
                with self.subTest(spec=name):
                    p = run([sys.executable, WEFTC, spec, '-o', d,
                             '--stub', os.path.join(d, name + '_stub.c')])
                    self.assertEqual(p.returncode, 0, p.stdout)
                    with open(os.path.join(d, name + '_tr.c'), 'w') as f:
                        f.write('#include "%s_trace.c"\n' % name)
                    for src in (name + '.c', name + '_tr.c',
                                name + '_stub.c'):
                        p = run([CC] + WARN + event_cflags() +
                                ['-I', os.path.join(ROOT, 'runtime'),
                                 '-I', d, '-c', os.path.join(d, src),
                                 '-o', os.path.join(d, src + '.o')])
                        self.assertEqual(p.returncode, 0, src + ':\n' +
                                         p.stdout)


ODD_SPEC = r'''
protocol odd;
delimiter "*/\"\\??=\x80\0/*";
initial mode a : line { next b; }
mode b : raw until "??/\n*/" max 9 next a;
mode c : raw counted trailer "/*\"" next a;
'''


class OddStrings(unittest.TestCase):
    """Delimiters with comment markers, quotes, backslashes, trigraphs and
    NUL bytes still give C that compiles warning-free."""

    def test_compiles(self):
        with tempfile.TemporaryDirectory(prefix='weftc-odd-') as d:
            spec = os.path.join(d, 'odd.weft')
            with open(spec, 'w') as f:
                f.write(ODD_SPEC)
            p = run([sys.executable, WEFTC, spec, '-o', d, '--stub',
                     os.path.join(d, 'stub.c')])
            self.assertEqual(p.returncode, 0, p.stdout)
            with open(os.path.join(d, 'tr.c'), 'w') as f:
                f.write('#include "odd_trace.c"\n')
            for src in ('odd.c', 'tr.c', 'stub.c'):
                p = run([CC] + WARN + ['-Wtrigraphs'] + event_cflags() +
                        ['-I', os.path.join(ROOT, 'runtime'), '-I', d, '-c',
                         os.path.join(d, src), '-o',
                         os.path.join(d, src + '.o')])
                self.assertEqual(p.returncode, 0, src + ':\n' + p.stdout)
            with open(os.path.join(d, 'odd.c')) as f:
                self.assertIn(r'"*/\"\\\077\077=\200\000/*"', f.read())


def catches(pid, sig):
    """True once process pid has a handler for sig (/proc SigCgt)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('SigCgt:'):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


class StubRuns(unittest.TestCase):
    """The --stub skeleton links with the runtime and runs: --help, a
    listening server stopped by SIGTERM, a bad endpoint."""

    def test_stub(self):
        import signal
        import time
        with tempfile.TemporaryDirectory(prefix='weftc-stub-') as d:
            stub = os.path.join(d, 'main.c')
            p = run([sys.executable, WEFTC,
                     os.path.join(ROOT, 'spec', 'chat.weft'), '-o', d,
                     '--stub', stub])
            self.assertEqual(p.returncode, 0, p.stdout)
            rt = sorted(glob.glob(os.path.join(ROOT, 'runtime', '*.c')))
            exe = os.path.join(d, 'server')
            p = run([CC] + WARN + event_cflags() + [
                '-Wno-unused-parameter', '-I', os.path.join(ROOT, 'runtime'),
                '-I', d, stub, os.path.join(d, 'chat.c')] + rt +
                ['-o', exe, '-levent'])
            self.assertEqual(p.returncode, 0, p.stdout)
            p = run([exe, '--help'])
            self.assertEqual(p.returncode, 0)
            self.assertIn('--listen ENDPOINT', p.stdout)
            p = run([exe, '--listen', 'tcp:notaport'])
            self.assertEqual(p.returncode, 1)
            self.assertIn('tcp:notaport', p.stdout)
            self.assertEqual(run([exe]).returncode, 2)
            srv = subprocess.Popen([exe, '--listen',
                                    'tcp:0:interface=127.0.0.1'],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
            try:
                # SIGTERM only once it is caught (SigCgt in /proc), which
                # the stub arranges after listening: before that, however
                # slow the start, it would simply kill the server.
                deadline = time.monotonic() + 60
                while not catches(srv.pid, signal.SIGTERM):
                    self.assertIsNone(srv.poll())
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.01)
                self.assertIsNone(srv.poll())
                srv.send_signal(signal.SIGTERM)
                self.assertEqual(srv.wait(30), 0)
            finally:
                if srv.poll() is None:
                    srv.kill()
                    srv.wait(30)


FEATURE_SPEC = r'''
protocol feat;
delimiter "\0";
max_line 16;
define num = digit+;

initial mode head : line {
    delimiter "\r\n";
    match key:alpha+ (":" val:num)?;
    empty -> text;
}
mode text : line {
    delimiter "||";
    empty;
    next tail;
}
mode tail : line {
    match (any - "!")*;
    next head;
}
entry mode blob : raw until "\r\n.\r\n" max 10 next head;
'''

FEAT_HOOKS = r'''
#include <string.h>
#define FEAT_TRACE_TAIL(t, p, line, len)                                  \
    do {                                                                  \
        if ((len) == 4 && memcmp((line), "blob", 4) == 0)                 \
            feat_set_mode((p), FEAT_MODE_BLOB, 0);                        \
    } while (0)
'''

DRIVER = r'''
#include "feat_trace.c"

int main(void)
{
    static char in[1 << 16];
    size_t len = fread(in, 1, sizeof in, stdin), k;
    char *whole = feat_trace_run(in, len, NULL, 0);

    for (k = 1; k <= len; k++) {
        size_t two[2] = { k, len };
        char *a = feat_trace_run(in, len, two, 2);
        char *b = feat_trace_run(in, len, &k, 1);

        if (strcmp(a, whole) != 0 || strcmp(b, whole) != 0) {
            printf("SPLIT %zu DIFFERS\n%s---\n%s---\n%s", k, whole, a, b);
            return 3;
        }
        free(a);
        free(b);
    }
    fputs(whole, stdout);
    free(whole);
    return 0;
}
'''

CASES = [
    (b'a:12\r\nb\r\n\r\nhello||||x\0',
     'head key="a" val="12"\nhead key="b" val=-\nhead empty\n'
     'text "hello"\ntail "||x"\nfinish 0\n'),
    (b'\r\n||||z\0',
     'head empty\ntext empty\ntail "||z"\nfinish 0\n'),
    (b'\r\nx||blob\0ab\r\n.\r\nk\r\n',
     'head empty\ntext "x"\ntail "blob"\nblob raw "ab"\nblob end\n'
     'head key="k" val=-\nfinish 0\n'),
    (b'\r\nx||blob\x000123456789AB\r\n.\r\n',
     'head empty\ntext "x"\ntail "blob"\nblob raw "0123456789"\n'
     'too_long blob\nerror -11\n'),
    (b'\r\nx||a!b\0',
     'head empty\ntext "x"\nmismatch tail "a!b"\nerror -12\n'),
    (b'a:\r\n', 'mismatch head "a:"\nerror -12\n'),
    (b'a' * 16 + b'\r\n', 'head key="%s" val=-\nfinish 0\n' % ('a' * 16)),
    (b'a' * 17 + b'\r\n', 'too_long head\nerror -11\n'),
    (b'ab\r\ncd', 'head key="ab" val=-\nfinish -12\n'),
]


class Behaviour(unittest.TestCase):
    """Compiles SPEC (protocol NAME) with DRIVER (HOOKS, then the trace
    harness) and the runtime under ASan/UBSan (plus CFLAGS); checks
    CASES."""
    NAME, SPEC, HOOKS, CASES = 'feat', FEATURE_SPEC, FEAT_HOOKS, CASES
    CFLAGS = []

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='weftc-feat-')
        d = cls.tmp
        with open(os.path.join(d, cls.NAME + '.weft'), 'w') as f:
            f.write(cls.SPEC)
        with open(os.path.join(d, 'driver.c'), 'w') as f:
            f.write(cls.HOOKS + DRIVER.replace('feat_', cls.NAME + '_'))
        p = run([sys.executable, WEFTC, os.path.join(d, cls.NAME + '.weft'),
                 '-o', d])
        if p.returncode != 0:
            raise AssertionError(p.stdout)
        rt = sorted(glob.glob(os.path.join(ROOT, 'runtime', '*.c')))
        san = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all',
               '-g']
        cmd = [CC] + WARN + san + cls.CFLAGS + event_cflags() + [
            '-Wno-unused-parameter', '-I', os.path.join(ROOT, 'runtime'),
            '-I', d, os.path.join(d, 'driver.c'),
            os.path.join(d, cls.NAME + '.c')
        ] + rt + ['-o', os.path.join(d, 'driver'), '-levent']
        p = run(cmd)
        if p.returncode != 0:
            raise AssertionError(p.stdout)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_cases(self):
        for data, want in self.CASES:
            with self.subTest(input=data):
                p = subprocess.run([os.path.join(self.tmp, 'driver')],
                                   input=data, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=120)
                self.assertEqual(p.returncode, 0,
                                 p.stdout.decode() + p.stderr.decode())
                self.assertEqual(p.stdout.decode(), want)


ALTS_SPEC = r'''
protocol alts;
delimiter "\n";
initial mode cmd : line {
    match (bare:"stats" | verb:"stats" " " arg:alpha+
           | n:digit+ ("x" | "y" q:digit)) " "*;
}
'''

ALTS_CASES = [
    (b'stats\n', 'cmd bare="stats" verb=- arg=- n=- q=-\nfinish 0\n'),
    (b'stats  \n', 'cmd bare="stats" verb=- arg=- n=- q=-\nfinish 0\n'),
    (b'stats reset \n',
     'cmd bare=- verb="stats" arg="reset" n=- q=-\nfinish 0\n'),
    (b'12x\n', 'cmd bare=- verb=- arg=- n="12" q=-\nfinish 0\n'),
    (b'12y7\n', 'cmd bare=- verb=- arg=- n="12" q="7"\nfinish 0\n'),
    (b'stats 1\n', 'mismatch cmd "stats 1"\nerror -12\n'),
]


CAPS_SPEC = r'''
protocol caps;
delimiter "\n";
initial mode a : line {
    match x:digit* (":" z:alpha*)? opt:("!")? pair:(p1:"<" p2:alpha+ ">")?;
}
'''

CAPS_CASES = [
    (b'\n', 'a x="" z=- opt="" pair="" p1=- p2=-\nfinish 0\n'),
    (b'12\n', 'a x="12" z=- opt="" pair="" p1=- p2=-\nfinish 0\n'),
    (b':\n', 'a x="" z="" opt="" pair="" p1=- p2=-\nfinish 0\n'),
    (b'7:ab!\n', 'a x="7" z="ab" opt="!" pair="" p1=- p2=-\nfinish 0\n'),
    (b'<hi>\n',
     'a x="" z=- opt="" pair="<hi>" p1="<" p2="hi"\nfinish 0\n'),
]


class Captures(Behaviour):
    """Absent (NULL) versus empty captures, nested captures."""
    NAME, SPEC, HOOKS, CASES = 'caps', CAPS_SPEC, '', CAPS_CASES


class Alternatives(Behaviour):
    """Captures of alternatives that died are cleared after the match."""
    NAME, SPEC, HOOKS, CASES = 'alts', ALTS_SPEC, '', ALTS_CASES


RUNS_SPEC = r"""
protocol runs;
delimiter "\n";
define token = (alnum | [!#$%&'*+.^_`|~\-])+;
initial mode kv : line {
    match name:token ":" " "* value:(graph ([ ]* graph)*)? " "*;
}
"""

RUNS_CASES = [
    (b'a:b\n', 'kv name="a" value="b"\nfinish 0\n'),
    (b'abcdefgh:12345678\n', 'kv name="abcdefgh" value="12345678"\nfinish 0\n'),
    (b'abcdefghi:123456789\n',
     'kv name="abcdefghi" value="123456789"\nfinish 0\n'),
    (b'abcdefghijklmnopq:  hello world, 0123456789abcdef  x  \n',
     'kv name="abcdefghijklmnopq" value="hello world, 0123456789abcdef  x"'
     '\nfinish 0\n'),
    (b'abcdefghijklmnopq:\n',
     'kv name="abcdefghijklmnopq" value=""\nfinish 0\n'),
    (b'abcdefghij@k:v\n', 'mismatch kv "abcdefghij@k:v"\nerror -12\n'),
    (b'abcdefghijklmnop\n', 'mismatch kv "abcdefghijklmnop"\nerror -12\n'),
    (b'k:0123456789ab\x01cdefghij\n',
     'mismatch kv "k:0123456789ab\\x01cdefghij"\nerror -12\n'),
]


class Runs(Behaviour):
    """Runs of one byte class (gen/fastpath.py): skipped eight at a time
    and one by one, ending at the line's end, at a byte outside the class
    (inside the eight or after), at every split."""
    NAME, SPEC, HOOKS, CASES = 'runs', RUNS_SPEC, '', RUNS_CASES

    def test_run_loops_generated(self):
        with open(os.path.join(self.tmp, 'runs.c')) as f:
            c = f.read()
        # token+ and the value's graph run each get a table and a loop.
        self.assertGreaterEqual(c.count('[256] = {'), 2)
        self.assertGreaterEqual(c.count('__builtin_ctz'), 2)


# Each way out of the states that get a class table (gen/fastpath.py): the
# first byte of the name (every kind of token byte, and bytes that are
# not), the byte that ends the name, the bytes after the colon, after a
# word of the value and in a gap.
DISPATCH_CASES = [
    (b'!:x\n', 'kv name="!" value="x"\nfinish 0\n'),
    (b"~|^`_#$%&'*+-.:y\n", 'kv name="~|^`_#$%%&\'*+-.\" value="y"\nfinish 0\n'
     .replace('%%', '%')),
    (b'0:  \n', 'kv name="0" value=""\nfinish 0\n'),
    (b'Z:a b  c \n', 'kv name="Z" value="a b  c"\nfinish 0\n'),
    (b'a:b\x7f\n', 'mismatch kv "a:b\\x7f"\nerror -12\n'),
    (b'a: \x01\n', 'mismatch kv "a: \\x01"\nerror -12\n'),
    (b'a:b \x80\n', 'mismatch kv "a:b \\x80"\nerror -12\n'),
    (b'a b:c\n', 'mismatch kv "a b:c"\nerror -12\n'),
    (b'@a:b\n', 'mismatch kv "@a:b"\nerror -12\n'),
    (b' a:b\n', 'mismatch kv " a:b"\nerror -12\n'),
    (b'\x80:b\n', 'mismatch kv "\\x80:b"\nerror -12\n'),
    (b':b\n', 'mismatch kv ":b"\nerror -12\n'),
]


class Dispatch(Behaviour):
    """States whose compare tree became a class table (gen/fastpath.py):
    every class, and bytes of none, at every split."""
    NAME, SPEC, HOOKS, CASES = 'runs', RUNS_SPEC, '', DISPATCH_CASES

    def test_tables_generated(self):
        with open(os.path.join(self.tmp, 'runs.c')) as f:
            c = f.read()
        # The name's first byte (one way out) and the state after the
        # colon (several) at least, in the line and the fused machine.
        self.assertGreaterEqual(len(re.findall(r'__cls\d+\[256\] = \{', c)),
                                2)
        # The first byte of the name: a token byte, or no way out.
        self.assertTrue(re.search(r'switch \( runs__\w+__cls\d+\[\(\*p\)\] '
                                  r'\) \{\n\t\tcase 1: goto tr0;\n\t\}\n'
                                  r'\tgoto st0;', c))


FUSED_SPEC = r"""
protocol fz;
delimiter "\r\n";
max_line 20;
initial mode a : line {
    match v:any*;
    empty -> b;
}
mode b : line {
    delimiter "xx";
    match w:(any - "!")*;
    empty;
}
"""

FUSED_CASES = [
    # The line ends at the first delimiter, though the grammar takes its
    # bytes; "xx" overlaps itself.
    (b'a\rb\r\r\n\n\r\r\n\r\naxxxbxxxxqxx',
     'a v="a\\x0db\\x0d"\na v="\\x0a\\x0d"\na empty\nb w="a"\nb w="xb"\n'
     'b empty\nb w="q"\nfinish 0\n'),
    # max_line by position: 20 bytes pass, 21 do not.
    (b'01234567890123456789\r\n',
     'a v="01234567890123456789"\nfinish 0\n'),
    (b'ok\r\n012345678901234567890\r\n', 'a v="ok"\ntoo_long a\nerror -11\n'),
    (b'01234567890123456789\r\r\n', 'too_long a\nerror -11\n'),
    # A mismatch between good lines gets the whole line.
    (b'\r\nokxxa!bxxnot seen xx', 'a empty\nb w="ok"\nmismatch b "a!b"\n'
     'error -12\n'),
    (b'\r\nokxxlast', 'a empty\nb w="ok"\nfinish -12\n'),
]


class Fused(Behaviour):
    """The fused pass (grammar + delimiter in one machine): first
    delimiter wins, self-overlapping delimiters, max_line, empty lines,
    mismatches and partial lines, at every split."""
    NAME, SPEC, HOOKS, CASES = 'fz', FUSED_SPEC, '', FUSED_CASES

    def test_fused_generated(self):
        with open(os.path.join(self.tmp, 'fz.c')) as f:
            c = f.read()
        self.assertIn('.fused = fz__fused_a,', c)
        self.assertIn('.fused = fz__fused_b,', c)


# A union with captures, tracked by alt_N: its marker must not carry over
# from one line to the next when the fused pass takes several lines.
UNION_SPEC = r"""
protocol un;
delimiter "\n";
initial mode a : line {
    match (x:"a" "b" "c" | y:"q")? "a" "b" r:any*;
}
"""

UNION_CASES = [
    (b'abz\n', 'a x=- y=- r="z"\nfinish 0\n'),
    (b'abcab\nabz\n', 'a x="a" y=- r=""\na x=- y=- r="z"\nfinish 0\n'),
    (b'qab1\nab2\nabcab3\n', 'a x=- y="q" r="1"\na x=- y=- r="2"\n'
     'a x="a" y=- r="3"\nfinish 0\n'),
]


class FusedUnion(Behaviour):
    """A tracked union's alternative is forgotten between lines."""
    NAME, SPEC, HOOKS, CASES = 'un', UNION_SPEC, '', UNION_CASES


WIDE_SPEC = r"""
protocol wide;
delimiter "\r\n";
max_line 64;
define token = (alnum | [!#$%&'*+.^_`|~\-])+;
define vchar = graph | 128..255;
initial mode kv : line {
    match name:token ":" " "* value:(vchar ([ ]* vchar)*)? " "*;
    empty -> path;
}
mode path : line {
    match target:[!-~]+;
}
"""


def _wide_cases():
    cases = []
    # A value run ending at every offset around one and two 16-byte steps.
    for n in range(12, 38):
        v = ''.join(chr(0x41 + i % 26) for i in range(n))
        cases.append((('k:%s\r\n' % v).encode(),
                      'kv name="k" value="%s"\nfinish 0\n' % v))
    # The same for a class tested inside (the target) rather than outside
    # (the value: any byte but controls, space and DEL).
    for n in range(12, 38):
        v = '/' + ''.join(chr(0x61 + i % 26) for i in range(n))
        cases.append((('\r\n%s\r\n' % v).encode(),
                      'kv empty\npath target="%s"\nfinish 0\n' % v))
    # A byte outside the set at every place in a long value or target.
    def show(v):
        return ''.join(chr(b) if 0x20 <= b < 0x7f else '\\x%02x' % b
                       for b in v)
    for i in range(0, 40, 3):
        for bad in (1, 0x7f, 0x20):
            v = bytearray(b'v' * 40)
            v[i] = bad
            if bad == 0x20 and i not in (0, 39):
                continue            # inner spaces belong to the value
            want = ('mismatch kv "k:%s"\nerror -12\n' % show(v)
                    if bad != 0x20 else
                    'kv name="k" value="%s"\nfinish 0\n'
                    % show(v).strip(' '))
            cases.append((b'k:' + bytes(v) + b'\r\n', want))
        v = bytearray(b'/' * 40)
        v[i] = 0x80
        cases.append((b'\r\n' + bytes(v) + b'\r\n',
                      'kv empty\nmismatch path "%s"\nerror -12\n' % show(v)))
    # Bytes above 127 belong to the value.
    cases.append((b'k:' + bytes(range(0x80, 0x100)[:40]) + b'\r\n',
                  'kv name="k" value="%s"\nfinish 0\n'
                  % show(bytes(range(0x80, 0x100)[:40]))))
    # Names: letters (the part of the token class the SSE2 test checks)
    # and other token bytes ('|', '!', '~') after the first 16.
    for name in ('abcdefghijklmnopqrstuvwxyz0123456789',
                 'abcdefghijklmnopqrst|uvwxyz!0123~4567',
                 'Accept-Encoding-With-A-Long-Name-1'):
        cases.append((('%s: x y\r\n' % name).encode(),
                      'kv name="%s" value="x y"\nfinish 0\n' % name))
    cases.append((b'abcdefghijklmnopqrstu(vwxyz:v\r\n',
                  'mismatch kv "abcdefghijklmnopqrstu(vwxyz:v"\n'
                  'error -12\n'))
    # max_line 64 by position, in the middle of a run.
    v62 = 'x' * 62
    cases.append((('k:%s\r\n' % v62).encode(),
                   'kv name="k" value="%s"\nfinish 0\n' % v62))
    cases.append((('k:%sx\r\n' % v62).encode(), 'too_long kv\nerror -11\n'))
    # Several lines in one chunk, a tab ending a value (outside the set).
    cases.append((b'a: 0123456789abcdefghij  \r\nb:\r\nc:1\t\r\n',
                  'kv name="a" value="0123456789abcdefghij"\n'
                  'kv name="b" value=""\nmismatch kv "c:1\\x09"\n'
                  'error -12\n'))
    return cases


class Wide(Behaviour):
    """Runs checked 16 bytes at a time (SSE2): ends at every offset, a
    byte outside the set at every place, a test that covers only part
    of the set (token), max_line inside a run, at every split."""
    NAME, SPEC, HOOKS, CASES = 'wide', WIDE_SPEC, '', _wide_cases()

    def test_vector_loops_generated(self):
        with open(os.path.join(self.tmp, self.NAME + '.c')) as f:
            c = f.read()
        self.assertIn('_mm_movemask_epi8', c)
        self.assertIn('(part of the set)', c)      # token: a subset
        self.assertIn('bytes outside the set: 0..32, 127 */', c)  # value
        self.assertIn('bytes in 33..126 */', c)    # target
        self.assertIn('goto weft_run', c)


class WideScalar(Wide):
    """The same without SSE2: the table loops alone."""
    NAME = 'wides'
    SPEC = WIDE_SPEC.replace('protocol wide;', 'protocol wides;')
    CFLAGS = ['-U__SSE2__']


if __name__ == '__main__':
    unittest.main()
