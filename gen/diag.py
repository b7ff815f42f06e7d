"""diag.py — compiler-style diagnostics.

    spec/http.weft:12:5: error: unknown mode 'bdy' (did you mean 'body'?)
        next bdy;
             ^
"""

import difflib
from collections import namedtuple

Pos = namedtuple('Pos', 'line col')


class Diagnostics:
    def __init__(self, path, source):
        self.path = path
        self.lines = source.split('\n')
        self.items = []             # (line, col, severity, message)

    def error(self, pos, msg):
        self._add(pos, 'error', msg)

    def warning(self, pos, msg):
        self._add(pos, 'warning', msg)

    def note(self, pos, msg):
        self._add(pos, 'note', msg)

    def _add(self, pos, severity, msg):
        line, col = (pos.line, pos.col) if pos else (0, 0)
        self.items.append((line, col, severity, msg))

    @property
    def errors(self):
        return sum(1 for i in self.items if i[2] == 'error')

    def format(self):
        """All diagnostics in source order (stable for equal positions)."""
        out = []
        for line, col, severity, msg in sorted(
                self.items, key=lambda i: (i[0], i[1])):
            if line <= 0:
                out.append('%s: %s: %s' % (self.path, severity, msg))
                continue
            out.append('%s:%d:%d: %s: %s' % (self.path, line, col,
                                               severity, msg))
            if line <= len(self.lines):
                text = self.lines[line - 1].rstrip('\r')
                out.append('    ' + text.expandtabs(1))
                out.append('    ' + ' ' * (col - 1) + '^')
        return '\n'.join(out) + ('\n' if out else '')


def suggest(name, candidates):
    """' (did you mean 'x'?)' or ''."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1,
                                      cutoff=0.6)
    return " (did you mean '%s'?)" % close[0] if close else ''
