"""spec_parse.py — spec text -> model (spec_model.Spec), via grammar.lark.

Only syntax is checked here; everything that needs the whole spec (mode
names, reachability, limits) is spec_check.py's job, so one run reports as
many errors as possible.
"""

import os
import re

import lark

from spec_model import Capture, Define, Grammar, Mode, Pos, Setting, Spec

_GRAMMAR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'grammar.lark')
_parser = None

# What the user should read instead of Lark's terminal names.
_TOKEN_TEXT = {
    'SEMICOLON': "';'", 'LBRACE': "'{'", 'RBRACE': "'}'", 'COLON': "':'",
    'EQUAL': "'='", 'LPAR': "'('", 'RPAR': "')'", 'NAME': 'a name',
    'INT': 'a number', 'STRING': 'a string', 'RX_STRING': 'a string',
    'RX_CLASS': "a class '[...]'", 'RX_REGEX': "a regex '/.../'",
    'RX_NUMBER': 'a number', 'RX_BINOP': 'an operator', 'RX_CATOP':
    'an operator', 'RX_POSTFIX': "'*', '+', '?' or '{n,m}'",
    'RX_PREFIX': "'!' or '^'", 'INITIAL': "'initial'", 'ENTRY': "'entry'",
    'CLOSE': "'close'", '__ANON_0': "'->'", 'MORETHAN': "'>'",
}


def _lark():
    global _parser
    if _parser is None:
        with open(_GRAMMAR, encoding='utf-8') as f:
            _parser = lark.Lark(f.read(), parser='lalr',
                                propagate_positions=True,
                                maybe_placeholders=True)
    return _parser


def _describe(term):
    if term in _TOKEN_TEXT:
        return _TOKEN_TEXT[term]
    try:
        for t in _lark().terminals:
            if t.name == term and t.pattern.type == 'str':
                return "'%s'" % t.pattern.value
    except Exception:               # pragma: no cover - defensive
        pass
    return term.lower()


def _pos(meta_or_tok):
    if isinstance(meta_or_tok, lark.Token):
        return Pos(meta_or_tok.line, meta_or_tok.column)
    return Pos(meta_or_tok.line, meta_or_tok.column)


_ESCAPES = {'r': 13, 'n': 10, 't': 9, '0': 0, '\\': 92, '"': 34,
            "'": 39, 'a': 7, 'b': 8, 'f': 12, 'v': 11, 'e': 27}


def decode_string(tok, diag):
    """A spec string token ("...") as bytes; C escapes plus \\xHH."""
    text = str(tok)[1:-1]
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != '\\':
            out += c.encode('utf-8')
            i += 1
            continue
        e = text[i + 1]
        col = tok.column + 1 + i
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == 'x' and len(text) >= i + 4 and all(
                h in '0123456789abcdefABCDEF' for h in text[i + 2:i + 4]):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            diag.error(Pos(tok.line, col),
                       "unknown escape '\\%s' in string (use \\r \\n \\t "
                       "\\0 \\\\ \\\" or \\xHH)" % e)
            i += 2
    return bytes(out)


class _Rx:
    """Turns an rx subtree into Ragel text, collecting captures."""

    def __init__(self, diag, allow_captures, context):
        self.diag = diag
        self.allow = allow_captures
        self.context = context
        self.captures = []
        self.refs = []              # (name, Pos) of names used
        self.unions = []            # alternatives count per tracked union
        self.path = ()              # ((union, alternative), ...) we are in
        self.repeat = 0             # depth of repetitions around us

    def text(self, t):
        if isinstance(t, lark.Token):
            return str(t)
        d = t.data
        c = t.children
        if d == 'rx_name':
            self.refs.append((str(c[0]), _pos(c[0])))
            return str(c[0])
        if d == 'rx_tok':
            return str(c[0])
        if d == 'rx_range':
            return '%s .. %s' % (c[0], c[-1])
        if d == 'rx_group':
            return '( %s )' % self.text(c[0])
        if d == 'rx_pre':
            return '%s%s' % (c[0], self.text(c[1]))
        if d == 'rx_post':
            rep = str(c[1]) != '?'
            self.repeat += rep
            inner = self.text(c[0])
            self.repeat -= rep
            return '%s%s' % (inner, c[1])
        if d == 'rx_cat':
            return '%s %s' % (self.text(c[0]), self.text(c[1]))
        if d == 'rx_bin' and str(c[1]) == '|':
            return self.union(t)
        if d in ('rx_catop', 'rx_bin'):
            return '%s %s %s' % (self.text(c[0]), c[1], self.text(c[2]))
        if d == 'capture':
            name = c[0]
            if self.allow:          # outer before inner: order of appearance
                self.captures.append(Capture(str(name), _pos(name),
                                             len(self.captures), self.path))
            inner = self.text(c[1])
            if not self.allow:
                self.diag.error(_pos(name), "captures are not allowed in "
                                "%s; capture where the definition is used, "
                                "e.g. %s:(%s)" % (self.context, name, inner))
                return '( %s )' % inner
            return ('( %s ) >weft_cap_%s_s %%weft_cap_%s_e'
                    % (inner, name, name))
        raise AssertionError('unknown rx node ' + d)   # pragma: no cover

    def union(self, t):
        """A chain a | b | c.  Ragel runs the alternatives in parallel, so
        a capture's actions may fire on an alternative that dies later.
        When alternatives hold captures (and no repetition surrounds the
        union), each alternative's leaving action records its index; the
        last one to fire is the alternative that matched, and captures of
        the others are cleared after the match (see the .rl template)."""
        alts = []
        while isinstance(t, lark.Tree) and t.data == 'rx_bin' and \
                str(t.children[1]) == '|':
            alts.append(t.children[2])
            t = t.children[0]
        alts.append(t)
        alts.reverse()
        if not self.allow or self.repeat or not any(
                _has_capture(a) for a in alts):
            return ' | '.join(self.text(a) for a in alts)
        u = len(self.unions)
        self.unions.append(len(alts))
        out = []
        outer = self.path
        for i, a in enumerate(alts):
            self.path = outer + ((u, i),)
            out.append('( %s ) %%weft_alt_%d_%d' % (self.text(a), u, i))
        self.path = outer
        return ' | '.join(out)


def _has_capture(t):
    if not isinstance(t, lark.Tree):
        return False
    return t.data == 'capture' or any(_has_capture(c) for c in t.children)


def _grammar(tree, diag, allow_captures, context):
    rx = _Rx(diag, allow_captures, context)
    text = rx.text(tree)
    pos = _pos(tree.meta) if isinstance(tree, lark.Tree) else _pos(tree)
    return Grammar(text, pos, rx.captures, rx.refs, rx.unions)


def _set(diag, owner, attr, value, pos, what):
    """Sets owner.attr once; a second statement is an error."""
    old = getattr(owner, attr)
    if old is not None:
        diag.error(pos, "duplicate '%s' in %s (first set at line %d)"
                   % (what, _where(owner), old.pos.line))
        return
    setattr(owner, attr, Setting(value, pos))


def _where(owner):
    return ("mode '%s'" % owner.name) if isinstance(owner, Mode) \
        else 'the protocol'


def _int(tok):
    return int(str(tok))


def _syntax_error(source, e, diag):
    """Reports a Lark error; returns its offset in source."""
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        ch = source[e.pos_in_stream] if e.pos_in_stream < len(source) else ''
        diag.error(Pos(e.line, e.column),
                   "syntax error: unexpected character %r" % ch)
        return e.pos_in_stream
    if isinstance(e, lark.exceptions.UnexpectedToken):
        tok = e.token
        if tok.type == '$END':
            got = 'end of file'
            body = source.rstrip('\n') if source.endswith('\n') else source
            line = body.count('\n') + 1
            col = len(body.split('\n')[-1]) + 1
            pos, offset = Pos(line, col), len(source)
        else:
            got = "'%s'" % tok
            pos, offset = Pos(tok.line, tok.column), tok.start_pos
        want = sorted({_describe(t) for t in e.expected})
        if len(want) > 6:
            want = want[:6] + ['...']
        diag.error(pos, 'syntax error: unexpected %s, expected %s'
                   % (got, ', '.join(want)))
        return offset
    diag.error(Pos(source.count('\n') + 1, 1),       # pragma: no cover
               'syntax error: unexpected end of file')
    return len(source)


# Skips what cannot hold a statement start: comments, strings, classes.
_SKIP = re.compile(r"#[^\n]*|\"(\\.|[^\"\\\n])*\"|'(\\.|[^'\\\n])*'"
                   r"|\[(\\.|[^\]\\\n])*\]")
_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
_ALWAYS_TOP = {'protocol', 'define', 'initial', 'entry', 'mode'}


def _statement_starts(text):
    """Offsets where top-level statements start: keywords that only begin
    a top-level statement, and delimiter/max_line outside braces."""
    starts, depth, i, expect = [], 0, 0, True
    while i < len(text):
        m = _SKIP.match(text, i)
        if m:
            i = m.end()
            continue
        c = text[i]
        w = _WORD.match(text, i)
        if w:
            word = w.group()
            line_start = text.rfind('\n', 0, i) + 1
            first_on_line = not text[line_start:i].strip()
            if word in _ALWAYS_TOP and (expect or first_on_line):
                starts.append(i)
                depth = 0
            elif word in ('delimiter', 'max_line') and depth == 0 and expect:
                starts.append(i)
            expect = False
            i = w.end()
            continue
        if c == '{':
            depth += 1
        elif c == '}':
            depth = max(0, depth - 1)
            expect = True
        elif c == ';':
            expect = True
        i += 1
    return starts


def _blank(text, start, end):
    return text[:start] + ''.join(
        ch if ch == '\n' else ' ' for ch in text[start:end]) + text[end:]


def _parse_tree(source, diag, max_errors=10):
    """Parses, and after a syntax error blanks out the statement it is in
    and parses again, so one run reports up to max_errors syntax errors.
    Returns the tree, or None if there was any error."""
    text = source
    errors = 0
    while True:
        try:
            tree = _lark().parse(text)
            return tree if errors == 0 else None
        except lark.exceptions.UnexpectedInput as e:
            errors += 1
            offset = _syntax_error(text, e, diag)
        if errors >= max_errors:
            return None
        starts = _statement_starts(text)
        before = [s for s in starts if s < offset]
        if offset in starts and before:
            start = before[-1]      # the token opens the next statement:
        elif before:                # the error is in the one before it
            start = before[-1]
        else:
            start = 0
        after = [s for s in starts if s > start and s > offset] + \
            [s for s in starts if s == offset and s > start]
        end = min(after) if after else len(text)
        if not text[start:end].strip():
            return None
        text = _blank(text, start, end)


def parse(path, source, diag):
    """Returns a Spec, or None after reporting syntax errors."""
    spec = Spec(path=path, source=source)
    tree = _parse_tree(source, diag)
    if tree is None:
        return None

    for item in tree.children:
        kind = item.data
        ch = item.children
        if kind == 'protocol_stmt':
            if spec.name is not None:
                diag.error(_pos(item.meta), "duplicate 'protocol' (first "
                           "at line %d)" % spec.name_pos.line)
            else:
                spec.name, spec.name_pos = str(ch[0]), _pos(ch[0])
        elif kind == 'delimiter_stmt':
            _set(diag, spec, 'delimiter', decode_string(ch[0], diag),
                 _pos(ch[0]), 'delimiter')
        elif kind == 'max_line_stmt':
            _set(diag, spec, 'max_line', _int(ch[0]), _pos(ch[0]),
                 'max_line')
        elif kind == 'define_stmt':
            g = _grammar(ch[1], diag, False, "'define %s'" % ch[0])
            spec.defines.append(Define(str(ch[0]), g, _pos(ch[0])))
        elif kind == 'mode_decl':
            spec.modes.append(_mode(item, diag))
    return spec


def _mode(item, diag):
    mods = [c for c in item.children
            if isinstance(c, lark.Tree) and c.data == 'modifier']
    name = next(c for c in item.children
                if isinstance(c, lark.Token) and c.type == 'NAME')
    body = item.children[-1]
    kind = body.data
    m = Mode(name=str(name), kind='line', pos=_pos(name))
    for mod in mods:
        word = str(mod.children[0])
        if getattr(m, word):
            diag.error(_pos(mod.meta), "duplicate '%s'" % word)
        setattr(m, word, True)
    if kind == 'line_mode':
        for st in body.children:
            _line_item(m, st, diag)
        return m
    # raw mode: kind node, then clauses
    rk = body.children[0]
    if rk.data == 'counted':
        m.kind = 'counted'
    elif rk.data == 'until_close':
        m.kind = 'close'
    else:
        m.kind = 'until'
        tok = rk.children[0]
        m.delimiter = Setting(decode_string(tok, diag), _pos(tok))
    for cl in body.children[1:]:
        tok = cl.children[0]
        if cl.data == 'trailer_clause':
            _set(diag, m, 'trailer', decode_string(tok, diag), _pos(tok),
                 'trailer')
        elif cl.data == 'max_clause':
            _set(diag, m, 'max_line', _int(tok), _pos(tok), 'max')
        elif cl.data == 'next_clause':
            _set(diag, m, 'next', str(tok), _pos(tok), 'next')
    return m


def _line_item(m, st, diag):
    d = st.data
    ch = st.children
    if d == 'delimiter_stmt':
        _set(diag, m, 'delimiter', decode_string(ch[0], diag), _pos(ch[0]),
             'delimiter')
    elif d == 'max_line_stmt':
        _set(diag, m, 'max_line', _int(ch[0]), _pos(ch[0]), 'max_line')
    elif d == 'match_stmt':
        g = _grammar(ch[0], diag, True, 'match')
        if m.match is not None:
            diag.error(g.pos, "duplicate 'match' in mode '%s' (first set "
                       "at line %d)" % (m.name, m.match.pos.line))
        else:
            m.match = g
    elif d == 'empty_stmt':
        target = str(ch[0]) if ch[0] is not None else None
        _set(diag, m, 'empty', target, _pos(st.meta), 'empty')
        if target is not None:
            m.empty.target_pos = _pos(ch[0])
    elif d == 'next_stmt':
        _set(diag, m, 'next', str(ch[0]), _pos(ch[0]), 'next')
