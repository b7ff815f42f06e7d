"""spec_check.py — validation of a parsed spec; fills the derived fields.

Reports every problem it finds (not only the first) through diag.
"""

from diag import suggest
from spec_model import Pos

DEFAULT_DELIMITER = b"\r\n"
DEFAULT_MAX_LINE = 16384          # Twisted's LineReceiver.MAX_LENGTH
MAX_LINE_LIMIT = 1 << 30          # 1 GiB: a line buffer larger is a bug
UNTIL_MAX_LIMIT = 1 << 48

C_KEYWORDS = set('''auto break case char const continue default do double
else enum extern float for goto if inline int long register restrict return
short signed sizeof static struct switch typedef union unsigned void volatile
while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn
_Static_assert _Thread_local bool true false NULL'''.split())

RAGEL_BUILTINS = set('''any ascii extend alpha digit alnum lower upper xdigit
cntrl graph print punct space zlen empty null'''.split())

# Mode names that would collide with the fixed parts of the generated API
# (foo_<mode> typedefs and on_<mode> callbacks).
RESERVED_MODES = set('''connect mismatch line_too_long eof disconnect parser
callbacks mode user state conn pause resume set_mode send_line protocol_init
parser_init parser_feed parser_finish parser_free parser_error
clear_line_buffer mode_name trace'''.split())


def check(spec, diag):
    _check_protocol(spec, diag)
    _check_defines(spec, diag)
    names = _check_mode_names(spec, diag)
    _check_initial(spec, diag)
    for m in spec.modes:
        if m.is_line:
            _check_line_mode(spec, m, diag)
        else:
            _check_raw_mode(spec, m, diag)
        _resolve_targets(spec, m, names, diag)
    _check_names(spec, diag)
    _check_reachable(spec, diag)
    _check_generated_names(spec, diag)


def _range(diag, setting, lo, hi, what):
    if setting is not None and not lo <= setting.value <= hi:
        diag.error(setting.pos, '%s %d is out of range (%d to %d)'
                   % (what, setting.value, lo, hi))
        return False
    return True


def _check_protocol(spec, diag):
    if spec.name is None:
        diag.error(Pos(1, 1), "missing 'protocol NAME;' statement")
        spec.name = 'unnamed'
    elif spec.name in C_KEYWORDS or spec.name.startswith('weft'):
        diag.error(spec.name_pos, "protocol name '%s' is reserved"
                   % spec.name)
    if spec.delimiter is not None:
        if spec.delimiter.value == b'':
            diag.error(spec.delimiter.pos, 'empty delimiter')
        else:
            spec.eff_delimiter = spec.delimiter.value
    if spec.max_line is not None and _range(diag, spec.max_line, 1,
                                            MAX_LINE_LIMIT, 'max_line'):
        spec.eff_max_line = spec.max_line.value


def _check_defines(spec, diag):
    seen = {}
    for d in spec.defines:
        if d.name in RAGEL_BUILTINS:
            diag.error(d.pos, "'%s' is a Ragel built-in machine and cannot "
                       "be redefined" % d.name)
        elif d.name in seen:
            diag.error(d.pos, "duplicate definition '%s' (first at line %d)"
                       % (d.name, seen[d.name].line))
        else:
            seen[d.name] = d.pos


def _check_names(spec, diag):
    """Every name in a grammar is a define or a Ragel built-in."""
    known = RAGEL_BUILTINS | {d.name for d in spec.defines}
    grammars = [d.grammar for d in spec.defines] + \
        [m.match for m in spec.modes if m.match is not None]
    for g in grammars:
        for name, pos in g.refs:
            if name not in known:
                diag.error(pos, "unknown name '%s' in grammar: neither a "
                           "'define' nor a Ragel built-in%s"
                           % (name, suggest(name, known)))


def _check_mode_names(spec, diag):
    names = {}
    if not spec.modes:
        diag.error(spec.name_pos or Pos(1, 1),
                   "protocol '%s' declares no mode" % spec.name)
    for i, m in enumerate(spec.modes):
        m.index = i
        if m.name in names:
            diag.error(m.pos, "duplicate mode '%s' (first declared at line "
                       "%d)" % (m.name, names[m.name].pos.line))
            continue
        if m.name in RESERVED_MODES or m.name in C_KEYWORDS:
            diag.error(m.pos, "mode name '%s' is reserved (it would clash "
                       "with the generated API)" % m.name)
        names[m.name] = m
    return names


def _check_initial(spec, diag):
    initials = [m for m in spec.modes if m.initial]
    if spec.modes and not initials:
        diag.error(spec.modes[0].pos, "no initial mode: mark the mode the "
                   "protocol starts in with 'initial mode %s'"
                   % spec.modes[0].name)
    for m in initials[1:]:
        diag.error(m.pos, "second initial mode '%s' (the first is '%s')"
                   % (m.name, initials[0].name))
    spec.initial = initials[0] if initials else (
        spec.modes[0] if spec.modes else None)
    if spec.initial is not None and spec.initial.kind == 'counted':
        diag.error(spec.initial.pos, "initial mode '%s' is counted, but a "
                   "count can only be given by C (set_mode)"
                   % spec.initial.name)


def _check_line_mode(spec, m, diag):
    m.eff_delimiter = spec.eff_delimiter
    m.eff_max_line = spec.eff_max_line
    if m.delimiter is not None:
        if m.delimiter.value == b'':
            diag.error(m.delimiter.pos, "empty delimiter in mode '%s'"
                       % m.name)
        else:
            m.eff_delimiter = m.delimiter.value
    if m.max_line is not None and _range(diag, m.max_line, 1,
                                         MAX_LINE_LIMIT, 'max_line'):
        m.eff_max_line = m.max_line.value
    if m.match is not None:
        seen = {}
        for c in m.match.captures:
            if c.name in seen:
                diag.error(c.pos, "duplicate capture '%s' in mode '%s' "
                           "(first at column %d)" % (c.name, m.name,
                                                     seen[c.name].col))
            elif c.name in C_KEYWORDS:
                diag.error(c.pos, "capture name '%s' is a C keyword"
                           % c.name)
            else:
                seen[c.name] = c.pos


def _check_raw_mode(spec, m, diag):
    kind_text = {'counted': 'raw counted', 'close': 'raw until close',
                 'until': 'raw until "..."'}[m.kind]
    if m.trailer is not None:
        if m.kind != 'counted':
            diag.error(m.trailer.pos, "'trailer' only applies to 'raw "
                       "counted' (mode '%s' is %s)" % (m.name, kind_text))
        elif m.trailer.value == b'':
            diag.error(m.trailer.pos, "empty trailer in mode '%s'" % m.name)
    if m.kind == 'until':
        if m.delimiter.value == b'':
            diag.error(m.delimiter.pos, "empty delimiter in mode '%s': "
                       "'until' needs an end mark" % m.name)
        else:
            m.eff_delimiter = m.delimiter.value
        if m.max_line is None:
            diag.error(m.pos, "mode '%s' has no size cap: write 'raw until "
                       "\"...\" max N'" % m.name)
        elif _range(diag, m.max_line, 1, UNTIL_MAX_LIMIT, 'max'):
            m.eff_max_line = m.max_line.value
    elif m.max_line is not None:
        diag.error(m.max_line.pos, "'max' only applies to 'raw until "
                   "\"...\"' (mode '%s' is %s)" % (m.name, kind_text))
    if m.kind == 'close' and m.next is not None:
        diag.error(m.next.pos, "'next' after 'raw until close' can never "
                   "happen: the stream has ended")
    if m.kind in ('counted', 'until') and m.next is None:
        diag.error(m.pos, "raw mode '%s' has no way out: add 'next MODE' "
                   "(the mode after the block ends)" % m.name)


def _resolve(spec, setting, pos, names, diag, what):
    target = names.get(setting)
    if target is None:
        diag.error(pos, "unknown mode '%s' in '%s'%s"
                   % (setting, what, suggest(setting, names)))
        return -1
    if target.kind == 'counted':
        diag.error(pos, "'%s %s': mode '%s' is counted, so only C can "
                   "enter it, with a count (%s_set_mode)"
                   % (what, setting, setting, spec.name))
        return -1
    return target.index


def _resolve_targets(spec, m, names, diag):
    if m.next is not None:
        m.next_index = _resolve(spec, m.next.value, m.next.pos, names, diag,
                                'next')
    if m.empty is not None and m.empty.value is not None:
        m.empty_index = _resolve(spec, m.empty.value, m.empty.target_pos,
                                 names, diag, 'empty ->')


def _check_reachable(spec, diag):
    if spec.initial is None:
        return
    roots = [m for m in spec.modes
             if m is spec.initial or m.entry or m.kind == 'counted']
    seen = set(m.index for m in roots)
    todo = list(seen)
    while todo:
        m = spec.modes[todo.pop()]
        for t in (m.next_index, m.empty_index):
            if t >= 0 and t not in seen:
                seen.add(t)
                todo.append(t)
    for m in spec.modes:
        if m.index not in seen:
            diag.warning(m.pos, "mode '%s' is unreachable: no 'next' leads "
                         "to it (declare it 'entry mode %s' if C enters it "
                         "with %s_set_mode)" % (m.name, m.name, spec.name))


def _check_generated_names(spec, diag):
    """Callback members on_<mode>, on_<mode>_empty, on_<mode>_end must be
    unique in <proto>_callbacks."""
    seen = {}
    upper = {}
    for m in spec.modes:
        if spec.mode(m.name) is not m:
            continue                # a duplicate, reported already
        other = upper.setdefault(m.name.upper(), m)
        if other is not m:
            diag.error(m.pos, "modes '%s' and '%s' both make %s_MODE_%s"
                       % (other.name, m.name, spec.name.upper(),
                          m.name.upper()))
        members = ['on_' + m.name]
        if m.is_line and m.empty is not None:
            members.append('on_%s_empty' % m.name)
        if m.is_raw:
            members.append('on_%s_end' % m.name)
        for name in members:
            if name in seen and seen[name] is not m:
                diag.error(m.pos, "mode '%s' makes callback '%s', which "
                           "mode '%s' makes too" % (m.name, name,
                                                    seen[name].name))
            seen.setdefault(name, m)
