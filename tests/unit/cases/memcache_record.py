#!/usr/bin/env python3
"""Fills in the expected replies of memcache_server.cases from a real
memcached (the Debian package, `memcached -t 1`), one fresh server per case.

    python3 tests/unit/cases/memcache_record.py [FILE]

Each input is sent whole; the reply is read until the server closes the
connection (recorded as "!closed") or stays quiet for half a second.
"""
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def decode(text):
    return text.encode('latin1').decode('unicode_escape').encode('latin1')


def encode(data):
    out = []
    for b in data:
        ch = chr(b)
        if ch == '\r':
            out.append('\\r')
        elif ch == '\n':
            out.append('\\n\n')          # one reply line per file line
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\\':
            out.append('\\\\')
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append('\\x%02x' % b)
    return ''.join(out).rstrip('\n')


def parse(path):
    cases, cur, part = [], None, None
    for line in open(path, encoding='latin1').read().split('\n'):
        if line.startswith('=== '):
            cur = {'title': line[4:], 'in': [], 'out': []}
            cases.append(cur)
            part = None
        elif cur is not None and line == '<<<':
            part = 'in'
        elif cur is not None and line == '>>>':
            part = 'out'
        elif cur is not None and part and line:
            cur[part].append(line)
    return cases


def run_case(data):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    user = ['-u', 'root'] if os.geteuid() == 0 else []
    p = subprocess.Popen(['memcached', '-t', '1', '-l', '127.0.0.1', '-p',
                          str(port), '-U', '0'] + user)
    try:
        for _ in range(200):
            try:
                c = socket.create_connection(('127.0.0.1', port), timeout=1)
                break
            except OSError:
                time.sleep(0.02)
        c.settimeout(0.5)
        c.sendall(data)
        out, closed = b'', False
        while True:
            try:
                d = c.recv(65536)
            except socket.timeout:
                break
            if not d:
                closed = True
                break
            out += d
        c.close()
        return out, closed
    finally:
        p.kill()
        p.wait()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(HERE, 'memcache_server.cases')
    text = open(path, encoding='latin1').read()
    header = text[:text.index('\n=== ') + 1]
    out = [header]
    for case in parse(path):
        data = decode(''.join(case['in']))
        reply, closed = run_case(data)
        reply = reply.replace(b'VERSION 1.6.18\r\n',
                              b'VERSION 1.6.18-weft\r\n')
        out.append('=== %s\n<<<\n%s\n>>>\n%s%s\n\n' % (
            case['title'], '\n'.join(case['in']), encode(reply),
            '\n!closed' if closed else ''))
    with open(path, 'w', encoding='latin1') as f:
        f.write(''.join(out).rstrip('\n') + '\n')


if __name__ == '__main__':
    main()
