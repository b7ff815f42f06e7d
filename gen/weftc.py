#!/usr/bin/env python3
"""weftc — the weft spec compiler.

    weftc SPEC.weft -o DIR      write DIR/NAME.h, DIR/NAME.rl, DIR/NAME.c
    weftc SPEC.weft --check     validate only
    weftc SPEC.weft --stub FILE write a handler skeleton (never overwrites)

Pipeline: grammar.lark (spec_parse) -> model (spec_model) -> validation
(spec_check) -> Jinja2 templates (emit) -> ragel -G2 (ragel).
See docs/spec-language.md.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import diag as diagmod          # noqa: E402
import emit                     # noqa: E402
import ragel                    # noqa: E402
import spec_check               # noqa: E402
import spec_parse               # noqa: E402

VERSION = '0.1.0'

USAGE_EPILOG = """\
examples:
  weftc spec/chat.weft -o build/gen        # chat.h, chat.rl, chat.c, chat_trace.c
  weftc spec/chat.weft --check             # report errors only
  weftc spec/chat.weft --stub chat_main.c  # handler skeleton with main()

Exit status: 0 on success (warnings allowed), 1 on errors in the spec,
2 on bad usage or I/O errors.  The language: docs/spec-language.md.
"""


def write_if_changed(path, text):
    """Writes text to path unless it already holds exactly that; returns
    True when it wrote (so make sees an unchanged file as unchanged)."""
    data = text.encode('utf-8')
    try:
        with open(path, 'rb') as f:
            if f.read() == data:
                return False
    except FileNotFoundError:
        pass
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def load(path, diag_out=sys.stderr):
    """Parses and checks a spec; returns (spec, diag) with spec None on
    errors."""
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        source = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        return None, _not_utf8(path, raw, e)
    d = diagmod.Diagnostics(path, source)
    spec = spec_parse.parse(path, source, d)
    if spec is not None:
        spec_check.check(spec, d)
    return (spec if d.errors == 0 else None), d


def _not_utf8(path, raw, e):
    """A diagnostic at the first byte that is not UTF-8, with the line
    shown as far as it decodes."""
    good = raw[:e.start].decode('utf-8')
    line = good.count('\n') + 1
    col = len(good) - (good.rfind('\n') + 1) + 1
    d = diagmod.Diagnostics(path, raw.decode('utf-8', 'replace'))
    d.error(diagmod.Pos(line, col), 'invalid UTF-8 (byte 0x%02x); specs '
            'are UTF-8 text, write other bytes as "\\xNN" escapes'
            % raw[e.start])
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='weftc', description='Compile a weft protocol spec into a '
        'Ragel parser, a typed C header and optionally a handler stub.',
        epilog=USAGE_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('spec', nargs='?', help='the spec file (NAME.weft)')
    ap.add_argument('-o', '--output', metavar='DIR',
                    help='write NAME.h, NAME.rl, NAME.c and NAME_trace.c '
                    'into DIR')
    ap.add_argument('--check', action='store_true',
                    help='validate the spec (and its grammars, with ragel) '
                    'and write nothing')
    ap.add_argument('--stub', metavar='FILE',
                    help='write a handler skeleton with every callback and '
                    'a main() to FILE; never overwrites an existing file')
    ap.add_argument('--version', action='version',
                    version='weftc ' + VERSION)
    args = ap.parse_args(argv)
    if args.spec is None:
        ap.error('no spec file given')
    if not (args.output or args.check or args.stub):
        ap.error('nothing to do: give -o DIR, --check or --stub FILE')

    try:
        spec, d = load(args.spec)
    except OSError as e:
        print('weftc: %s: %s' % (args.spec, e.strerror), file=sys.stderr)
        return 2
    if spec is None:
        sys.stderr.write(d.format())
        _summary(d)
        return 1

    files = emit.render(spec, VERSION)
    if args.check:
        status = _check_ragel(spec, files, d)
        sys.stderr.write(d.format())
        if d.errors:
            _summary(d)
        return status
    status = 0
    if args.output:
        status = _write_all(spec, files, args.output, d)
    if status == 0 and args.stub:
        status = _write_stub(spec, args.stub)
    sys.stderr.write(d.format())
    if d.errors:
        _summary(d)
    return status


def _summary(d):
    n = d.errors
    sys.stderr.write('%d error%s generated.\n' % (n, '' if n == 1 else 's'))


def _ragel(spec, rl_path, files, d):
    names = set(spec_check.RAGEL_BUILTINS) | {x.name for x in spec.defines}
    return ragel.run(rl_path, files[spec.name + '.rl'], spec.path, d,
                     spec_lines=spec.source.split('\n'), names=names)


def _check_ragel(spec, files, d):
    import tempfile
    with tempfile.TemporaryDirectory(prefix='weftc-') as tmp:
        rl = os.path.join(tmp, spec.name + '.rl')
        with open(rl, 'w', encoding='utf-8') as f:
            f.write(files[spec.name + '.rl'])
        if _ragel(spec, rl, files, d) is None:
            return 1
    return 0


def _write_all(spec, files, outdir, d):
    try:
        os.makedirs(outdir, exist_ok=True)
        for name, text in sorted(files.items()):
            write_if_changed(os.path.join(outdir, name), text)
    except OSError as e:
        print('weftc: %s: %s' % (outdir, e.strerror), file=sys.stderr)
        return 2
    rl_name = os.path.join(outdir, spec.name + '.rl')
    c_text = _ragel(spec, rl_name, files, d)
    if c_text is None:
        return 1
    write_if_changed(os.path.join(outdir, spec.name + '.c'), c_text)
    return 0


def _write_stub(spec, path):
    if os.path.exists(path):
        print('weftc: %s exists; not overwriting it' % path,
              file=sys.stderr)
        return 1
    text = emit.render_stub(spec, VERSION, path)
    try:
        with open(path, 'x', encoding='utf-8') as f:
            f.write(text)
    except OSError as e:
        print('weftc: %s: %s' % (path, e.strerror), file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
