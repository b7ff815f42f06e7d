"""ragel.py — runs `ragel -G2` on the generated .rl and maps what comes back
(errors, #line directives) to the spec.  `ragel -x` on the same .rl gives
the state graph that gen/fastpath.py uses to add run loops to the C.

The .rl carries a Ragel comment `# weft:LINE:COL` on every line that holds
spec text (definitions, grammars, capture actions); that is the map.
"""

import os
import re
import subprocess
import tempfile

from diag import suggest
import fastpath
from spec_model import Pos

_MARK = re.compile(r'# weft:(\d+):(\d+)\s*$')
_LINE = re.compile(r'^#line (\d+) "([^"]*)"\s*$')
_ERR = re.compile(r'^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$')


def spec_map(rl_text):
    """{rl line number: Pos in the spec}."""
    out = {}
    for n, text in enumerate(rl_text.split('\n'), 1):
        m = _MARK.search(text)
        if m:
            out[n] = Pos(int(m.group(1)), int(m.group(2)))
    return out


def run(rl_path, rl_text, spec_path, diag, c_path=None, spec_lines=(),
        names=()):
    """Compiles rl_path (whose text is rl_text) and returns the C text with
    #line directives into the spec, or None after reporting errors."""
    marks = spec_map(rl_text)
    if c_path is None:
        c_path = os.path.splitext(rl_path)[0] + '.c'
    fd, tmp = tempfile.mkstemp(prefix='.weftc-', suffix='.c',
                               dir=os.path.dirname(rl_path) or '.')
    os.close(fd)
    try:
        try:
            proc = subprocess.run(['ragel', '-G2', '-o', tmp, rl_path],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  universal_newlines=True)
        except FileNotFoundError:
            diag.error(None, 'ragel not found (apt-get install ragel)')
            return None
        if proc.returncode != 0:
            _report(proc.stdout, marks, diag, spec_lines, names)
            return None
        with open(tmp, encoding='utf-8') as f:
            c_text = f.read()
        # The same machines as Ragel's intermediate XML: the state graph.
        proc = subprocess.run(['ragel', '-x', '-o', tmp, rl_path],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              universal_newlines=True)
        if proc.returncode != 0:
            diag.error(None, 'ragel -x failed: %s' % proc.stdout.strip())
            return None
        with open(tmp, encoding='utf-8') as f:
            xml_text = f.read()
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    c_text = fastpath.add_run_loops(c_text, xml_text, tmp)
    return _relink(c_text, tmp, c_path, rl_path, marks, spec_path)


_LOOKUP = re.compile(r'graph lookup of "([^"]*)" failed')


def _report(output, marks, diag, spec_lines, names):
    found = False
    for line in output.splitlines():
        m = _ERR.match(line)
        if not m:
            continue
        found = True
        rl_line = int(m.group('line'))
        pos = marks.get(rl_line)
        msg = m.group('msg')
        if msg.startswith('error: '):
            msg = msg[len('error: '):]
        if pos is None:
            diag.error(None, 'ragel: %s (generated %s:%d)'
                       % (msg, m.group('file'), rl_line))
        else:
            lk = _LOOKUP.search(msg)
            if lk:
                name = lk.group(1)
                pos = _find_name(spec_lines, pos, name)
                if name in names:
                    diag.error(pos, "'%s' is used inside its own definition"
                               " (directly or through another define); "
                               "definitions cannot be recursive" % name)
                else:
                    diag.error(pos, "unknown name '%s' in grammar: neither "
                               "a 'define' nor a Ragel built-in%s"
                               % (name, suggest(name, names)))
            else:
                diag.error(pos, 'in grammar: %s' % msg)
    if not found:
        diag.error(None, 'ragel failed: %s' % output.strip())


def _find_name(lines, pos, name):
    """Position of the first whole-word `name` at or after pos (the
    statement the .rl line came from), else pos."""
    word = re.compile(r'(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])' % re.escape(name))
    for n in range(pos.line, min(pos.line + 50, len(lines) + 1)):
        text = lines[n - 1]
        start = pos.col - 1 if n == pos.line else 0
        m = word.search(text, start)
        if m:
            return Pos(n, m.start() + 1)
    return pos


def _relink(c_text, tmp, c_path, rl_path, marks, spec_path):
    """Points #line directives at the spec where the .rl line came from
    it, and those naming ragel's temporary output at the final .c; the
    rest keep pointing at the .rl."""
    out = []
    for line in c_text.split('\n'):
        m = _LINE.match(line)
        if m and m.group(2) == tmp:
            line = '#line %s "%s"' % (m.group(1), c_path)
        elif m and m.group(2) == rl_path and int(m.group(1)) in marks:
            pos = marks[int(m.group(1))]
            line = '#line %d "%s"' % (pos.line, spec_path)
        out.append(line)
    return '\n'.join(out)
