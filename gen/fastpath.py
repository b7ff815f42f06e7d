"""fastpath.py — tight loops over runs of one byte class in the -G2 code.

Ragel -G2 code tests every byte of a state with a tree of compares (an RFC
token costs about nine per byte) and then jumps back to the same state.  A
state whose self-loop takes a large set of bytes without any action (the
body of `token+`, of a field value, of a target) is where a line spends its
time.  For each such state this module puts, in front of the state's
compare tree, a loop that skips the bytes of the self-loop with a lookup in
a 256-byte table:

    stN:
        if ( ++p == pe ) goto _test_eofN;
        <here: while the byte is in the loop set, advance (and stop at pe
         exactly as Ragel would: goto _test_eofN)>
    case N:
        ... Ragel's compares, reached for the first byte outside the set

That is the same machine: a byte of the set would have led to `goto stN`
with no action, which is the `++p == pe` test and the dispatch again.  The
state graph comes from Ragel's own intermediate XML of the same .rl (state
ids are the `stN` labels of -G2), and a state is changed only where its
code has exactly the shape above; anything else is left as Ragel wrote it.

The same graph replaces the compare tree of a state whose bytes fall into
many runs (the first byte of a token, the byte that ends a run, the byte
after a colon) by one lookup in a 256-byte table of classes, one class per
way out of the state, and a switch on the class:

    case N:
        switch ( M__clsN[(*p)] ) { case 1: goto tr0; case 2: goto stK; }
        goto st0;                      (the error state: bytes of class 0)
        ... Ragel's compares, now unreachable

A way out without an action is Ragel's `st<target>`; one with actions is
the `tr` label its own code jumps to for a byte of that way, read off the
single-byte cases of its switch.  The state is changed only if the labels
so found are exactly those its code uses and agree with every case.  Equal
tables are emitted once per file.
"""

import re
import xml.etree.ElementTree as ET

# Fewer bytes than this in a self-loop: not worth a table (e.g. [ \t]*).
MIN_SET = 8

_START = re.compile(r'^static const int (\w+)_start = \d+;$', re.M)
_LINE = re.compile(r'^#line (\d+) "([^"]*)"\s*$')


def state_trans(xml_text):
    """{machine name: {state id: {byte: (target, action)}}} for every state
    of the uchar machines (tables index unsigned bytes); a byte missing
    from a state's map goes to the error state."""
    root = ET.fromstring(xml_text)
    out = {}
    for rd in root.iter('ragel_def'):
        machine = rd.find('machine')
        alph = rd.find('alphtype')
        if machine is None or alph is None or alph.text != 'uchar':
            continue
        states = {}
        for st in machine.iter('state'):
            tl = st.find('trans_list')
            trans = {}
            for t in (tl if tl is not None else ()):
                f = t.text.split()
                lo, hi = max(int(f[0]), 0), min(int(f[1]), 255)
                for b in range(lo, hi + 1):
                    trans[b] = (f[2], f[3])
            states[int(st.get('id'))] = trans
        out[rd.get('name')] = states
    return out


def loop_sets(every):
    """{machine name: {state id: sorted list of bytes}} for the states that
    go back to themselves without an action on at least MIN_SET bytes;
    every: state_trans()."""
    out = {}
    for name, states in every.items():
        out[name] = {}
        for sid, trans in states.items():
            loop = sorted(b for b, k in trans.items() if k == (str(sid), 'x'))
            if len(loop) >= MIN_SET:
                out[name][sid] = loop
    return out


def _c_table(name, values):
    """A static 256-byte C table of values (one per byte)."""
    cells = [str(v) for v in values]
    rows = [', '.join(cells[i:i + 32]) for i in range(0, 256, 32)]
    return ('static const unsigned char %s[256] = {\n\t%s\n};\n'
            % (name, ',\n\t'.join(rows)))


def _table(name, members):
    return _c_table(name, [1 if b in members else 0 for b in range(256)])


def _loop(table, sid, tail_label):
    # Eight bytes at a time while more than eight remain: one mask of eight
    # lookups, and where it has a hole the first byte outside the set is
    # its lowest clear bit.  Then one by one.  p never passes pe, and
    # reaching it ends the run as Ragel does.
    mask = ' | '.join('(unsigned)%s[p[%d]] << %d' % (table, i, i)
                      for i in range(8))
    label = ''
    if tail_label:
        label = '#if defined(__SSE2__)\n%s:\n#endif\n' % tail_label
    return ('\twhile ( pe - p > 8 ) {{\n'
            '\t\tunsigned weft_m = ' + mask + ';\n'
            '\t\tif ( weft_m != 0xffu ) {{\n'
            '\t\t\tp += __builtin_ctz(~weft_m);\n'
            '\t\t\tbreak;\n'
            '\t\t}}\n'
            '\t\tp += 8;\n'
            '\t}}\n' + label +
            '\twhile ( {t}[(*p)] ) {{\n'
            '\t\tif ( ++p == pe )\n'
            '\t\t\tgoto _test_eof{n};\n'
            '\t}}\n').format(t=table, n=sid)


def ranges(members):
    """Sorted byte set -> [(lo, hi), ...], maximal runs."""
    out = []
    for b in sorted(members):
        if out and out[-1][1] == b - 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((b, b))
    return out


# Byte ranges an SSE2 test may check at once (each costs two or three
# instructions per 16 bytes).
MAX_RANGES = 4


def _cost(rs):
    """Instructions to test these ranges: one compare for a single byte,
    two for a range touching 0 or 255, three for the others."""
    return sum(1 if lo == hi else 2 if lo == 0 or hi == 255 else 3
               for lo, hi in rs)


def _weight(r):
    """How much of typical protocol text a range covers: letters, digits
    and - _ . / count, anything else a little."""
    text = set(range(48, 58)) | set(range(65, 91)) | set(range(97, 123)) \
        | set(b'-_./')
    return sum(1.0 if b in text else 0.1 for b in range(r[0], r[1] + 1))


def vector_test(members):
    """(ranges, exact, inside) for the 16-byte SSE2 loop of a run over
    members: test `ranges` (inside: bytes of the set; else bytes outside
    it).  exact is False when the set has too many ranges either way and
    only the MAX_RANGES heaviest of its own are tested: a subset, so the
    loop still never skips a byte outside the set, and the table loop
    after it goes on exactly."""
    mine = ranges(members)
    other = ranges(set(range(256)) - set(members))
    if not other:
        return [], True, False          # every byte: no test needed
    if len(mine) <= MAX_RANGES and _cost(mine) <= _cost(other):
        return mine, True, True
    if len(other) <= MAX_RANGES:
        return other, True, False
    best = sorted(mine, key=lambda r: (-_weight(r), r))[:MAX_RANGES]
    return sorted(best), False, True


def _range_expr(lo, hi):
    c = lambda v: '_mm_set1_epi8((char)%d)' % (v if v < 128 else v - 256)
    if lo == hi:
        return '_mm_cmpeq_epi8(weft_x, %s)' % c(lo)
    if lo == 0:
        return '_mm_cmpeq_epi8(_mm_min_epu8(weft_x, %s), weft_x)' % c(hi)
    if hi == 255:
        return '_mm_cmpeq_epi8(_mm_max_epu8(weft_x, %s), weft_x)' % c(lo)
    return ('_mm_cmpeq_epi8(_mm_min_epu8(_mm_sub_epi8(weft_x, %s), %s), '
            '_mm_sub_epi8(weft_x, %s))' % (c(lo), c(hi - lo), c(lo)))


def _vector_loop(members, sid):
    # Sixteen bytes at a time while more than sixteen remain (SSE2, the
    # x86-64 baseline): one compare per range, one mask; p stops at the
    # first byte the test does not pass.  An exact test found the end of
    # the run and jumps past the table loops; a subset hands that byte to
    # the one-by-one loop (usually it ends the run: the test covers the
    # bytes of the set that text is made of).
    rs, exact, inside = vector_test(members)
    if not rs:
        return ''                       # only pe ends the run: tables do
    stop = '\t\t\tgoto weft_run%d_%s;\n' % (sid, 'end' if exact else 'tail')
    terms = [_range_expr(lo, hi) for lo, hi in rs]
    expr = terms[0]
    for t in terms[1:]:
        expr = '_mm_or_si128(%s,\n\t\t\t%s)' % (expr, t)
    what = ', '.join(('%d' % lo) if lo == hi else '%d..%d' % (lo, hi)
                     for lo, hi in rs)
    note = ('bytes %s %s' % ('in' if inside else 'outside the set:', what)
            + ('' if exact else ' (part of the set)'))
    if inside:
        test = ('\t\tif ( weft_v != 0xffffu ) {\n'
                '\t\t\tp += __builtin_ctz(~weft_v);\n')
    else:
        test = ('\t\tif ( weft_v != 0 ) {\n'
                '\t\t\tp += __builtin_ctz(weft_v);\n')
    return ('#if defined(__SSE2__)\n'
            '\twhile ( pe - p > 16 ) {\n'
            '\t\t/* ' + note + ' */\n'
            '\t\t__m128i weft_x = _mm_loadu_si128('
            '(const __m128i *)(const void *)p);\n'
            '\t\tunsigned weft_v = (unsigned)_mm_movemask_epi8(' + expr
            + ');\n' + test + stop +
            '\t\t}\n'
            '\t\tp += 16;\n'
            '\t}\n'
            '#endif\n')


def _end_label(members, sid):
    rs, exact, _ = vector_test(members)
    if not rs or not exact:
        return ''
    return '#if defined(__SSE2__)\nweft_run%d_end:\n#endif\n' % sid


# States whose bytes fall into fewer runs than this (a byte or two, a
# range) keep Ragel's compares: a table is no cheaper there.
MIN_DISPATCH_RUNS = 5

_BODY_END = re.compile(r'^(?:\w+:|case \d+:|\t_test_eof|\t_out:)', re.M)
# A line of Ragel's compare tree: jumps, tests of (*p) against numbers,
# braces; anything else (an action, an assignment) leaves the state alone.
_BODY_TOKEN = re.compile(r'#line .*|goto \w+;|case \d+u:|switch|if|else|'
                         r'\(\*p\)|\d+u|<=|>=|==|!=|<|>|&&|\|\||[(){}]|\s+')


def _plain(line):
    return _BODY_TOKEN.sub('', line) == ''


def _labels(trans, body):
    """{(target, action): C label} for the transitions of a state, read off
    its -G2 code, or None when the code is not of the expected shape.  A
    transition without an action jumps to st<target>; one with actions to
    a tr label, found from the single-byte cases of Ragel's switch (or, for
    one such transition left, the one tr label left)."""
    if not all(_plain(line) for line in body.split('\n')):
        return None
    gotos = set(re.findall(r'goto (\w+);', body))
    cases = {int(b): lab for b, lab in
             re.findall(r'case (\d+)u: goto (\w+);', body)}
    keys = sorted(set(trans.values()))
    label = {}
    for key in keys:
        target, action = key
        if not target.isdigit():
            return None
        if action == 'x':
            label[key] = 'st%s' % target
        else:
            found = {cases[b] for b, k in trans.items()
                     if k == key and b in cases}
            if len(found) > 1:
                return None
            if found:
                label[key] = found.pop()
    left = [k for k in keys if k not in label]
    spare = gotos - set(label.values()) - {'st0'}
    if len(left) > 1 or len(left) != len(spare):
        return None
    if left:
        label[left[0]] = spare.pop()
    # Every jump of Ragel's code is accounted for, and its single-byte
    # cases agree with the transitions.
    used = set(label.values()) | ({'st0'} if len(trans) < 256 else set())
    if used != gotos:
        return None
    for b, lab in cases.items():
        if lab != (label[trans[b]] if b in trans else 'st0'):
            return None
    return label


def _runs(cls):
    return 1 + sum(1 for b in range(1, 256) if cls[b] != cls[b - 1])


def _dispatch(seg, machine, sid, trans, known):
    """(segment, table) with state sid's compare tree replaced by a lookup
    in a table of byte classes and a jump per class, or (seg, None) where
    that does not apply or an equal table exists already (known: {classes:
    table name}, of this file).  Ragel's compares stay in place,
    unreachable."""
    head = '\ncase %d:\n' % sid
    if seg.count(head) != 1:
        return seg, None
    at = seg.index(head) + len(head)
    m = re.match(r'#line [^\n]*\n', seg[at:])
    if m:
        at += m.end()
    end = _BODY_END.search(seg, at)
    if end is None:
        return seg, None
    label = _labels(trans, seg[at:end.start()].rstrip('\n'))
    if label is None:
        return seg, None
    keys = sorted(label, key=lambda k: min(b for b, v in trans.items()
                                           if v == k))
    cls = [keys.index(trans[b]) + 1 if b in trans else 0 for b in range(256)]
    if _runs(cls) < MIN_DISPATCH_RUNS:
        return seg, None
    table = known.get(tuple(cls))
    fresh = table is None
    if fresh:
        table = known[tuple(cls)] = '%s__cls%d' % (machine, sid)
    code = '\tswitch ( %s[(*p)] ) {\n' % table
    last = 'st0'
    if len(trans) == 256:                 # no byte is an error: the last
        last = label[keys[-1]]            # class needs no case
        keys = keys[:-1]
    for i, k in enumerate(keys):
        code += '\t\tcase %d: goto %s;\n' % (i + 1, label[k])
    code += '\t}\n\tgoto %s;\n' % last
    tab = _c_table(table, cls) if fresh else None
    return seg[:at] + code + seg[at:], tab


def add_run_loops(c_text, xml_text, out_name):
    """c_text with the run loops added; #line directives naming out_name
    (the C file itself) are shifted by the lines inserted before them."""
    every = state_trans(xml_text)
    sets = loop_sets(every)
    known = {}
    starts = [(m.start(), m.group(1)) for m in _START.finditer(c_text)]
    if not starts:
        return c_text
    pieces = [c_text[:starts[0][0]]]
    for k, (pos, machine) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(c_text)
        seg = c_text[pos:end]
        tables = []
        for sid, members in sorted(sets.get(machine, {}).items()):
            head = ('st%d:\n\tif ( ++p == pe )\n\t\tgoto _test_eof%d;\n'
                    'case %d:\n' % (sid, sid, sid))
            if seg.count(head) != 1:
                continue                  # not the expected shape: leave it
            table = '%s__run%d' % (machine, sid)
            cut = seg.index(head) + len(head) - len('case %d:\n' % sid)
            rs, exact, _ = vector_test(members)
            tail = 'weft_run%d_tail' % sid if rs and not exact else None
            seg = (seg[:cut] + _vector_loop(members, sid)
                   + _loop(table, sid, tail) + _end_label(members, sid)
                   + seg[cut:])
            tables.append(_table(table, set(members)))
        for sid, trans in sorted(every.get(machine, {}).items()):
            seg, tab = _dispatch(seg, machine, sid, trans, known)
            if tab:
                tables.append(tab)
        if tables:
            seg = ('/* Bytes of the self-loop of a state, skipped in a run'
                   ' (gen/fastpath.py). */\n' + '\n'.join(tables) + '\n'
                   + seg)
        pieces.append(seg)
    text = ''.join(pieces)
    # Keep the directives that point into the C file itself exact.
    out = []
    for n, line in enumerate(text.split('\n'), 1):
        m = _LINE.match(line)
        if m and m.group(2) == out_name:
            line = '#line %d "%s"' % (n + 1, out_name)
        out.append(line)
    return '\n'.join(out)
