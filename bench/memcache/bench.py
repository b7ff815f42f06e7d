"""bench/memcache — weft-memcached against memcached -t 1.

Both servers run at once, pinned to CPU 0 (taskset), each with 64 MB of
item memory.  The load generator, memaslap (Debian names it memcaslap,
from libmemcached-tools; memcslap is the fallback), runs pinned to CPU 1
with the same settings against each server in turn, interleaved
(weft, memcached, memcached, weft, ...), and the median ops/s of each
server is reported, with its server CPU time per operation (the steadier
figure on a shared machine: a single-threaded server waits longer for a
busy CPU than memcached, whose helper threads wake it often).  --tool
memcslap uses libmemcached's memcslap instead (gets of its random values
of up to a few KB; it reports a time, from which ops/s is computed).  The
last line is
  RESULT bench=memcache weft=<ops/s> peer=memcached:<ops/s> ratio=<w/m> unit=ops/s
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
from tests.integration import procs  # noqa: E402  (after the path)


def load_tool(prefer=None):
    for name in ('memaslap', 'memcaslap'):
        path = shutil.which(name)
        if path and prefer != 'memcslap':
            return 'memaslap', path
    path = shutil.which('memcslap')
    if path:
        return 'memcslap', path
    sys.exit('bench: no memaslap/memcaslap/memcslap; install '
             'libmemcached-tools (scripts/deps.sh test)')


def run_load(tool, port, args):
    kind, path = tool
    if kind == 'memaslap':
        cmd = ['taskset', '-c', args.load_cpu, path,
               '-s', '127.0.0.1:%d' % port, '-T', '1',
               '-c', str(args.concurrency), '-X', str(args.value_size),
               '-t', '%ds' % args.seconds]
    else:
        cmd = ['taskset', '-c', args.load_cpu, path,
               '--servers=127.0.0.1:%d' % port,
               '--concurrency=%d' % args.concurrency,
               '--execute-number=%d' % args.ops, '--test=get']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=args.seconds * 4 + 120).stdout
    if kind == 'memaslap':
        m = re.search(r'Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)', out)
        if not m:
            sys.exit('bench: cannot read memaslap output:\n' + out[-2000:])
        return int(m.group(2)), float(m.group(1))
    # memcslap reports time, not a rate: "Time to get 40000 keys by 32
    # threads: 1.234 seconds."
    m = re.search(r'Time to get\s+(\d+) keys by\s+\d+ threads:\s+([\d.]+) '
                  r'seconds', out)
    if not m or float(m.group(2)) <= 0:
        sys.exit('bench: cannot read memcslap output:\n' + out[-2000:])
    return int(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser(
        prog='bench/run memcache', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true',
                    help='3 rounds of 2 s (default: 5 rounds of 5 s)')
    ap.add_argument('--rounds', type=int, help='rounds (>= 3)')
    ap.add_argument('--seconds', type=int, help='seconds per run')
    ap.add_argument('--concurrency', type=int, default=32,
                    help='client connections (default 32)')
    ap.add_argument('--value-size', type=int, default=100,
                    help='value bytes (default 100)')
    ap.add_argument('--ops', type=int, default=2000,
                    help='memcslap only: gets per connection')
    ap.add_argument('--tool', choices=('memaslap', 'memcslap'),
                    help='load generator (default: memaslap/memcaslap if '
                    'installed, else memcslap)')
    ap.add_argument('--weft', default=None,
                    help='weft-memcached binary (default build/bin/)')
    ap.add_argument('--server-cpu', default='0')
    ap.add_argument('--load-cpu', default='1')
    args = ap.parse_args()
    args.rounds = max(3, args.rounds or (3 if args.quick else 5))
    args.seconds = args.seconds or (2 if args.quick else 5)

    weft = args.weft or os.path.join(ROOT, 'build', 'bin', 'weft-memcached')
    if not os.access(weft, os.X_OK):
        sys.exit('bench: %s not built (run make)' % weft)
    memcached = shutil.which('memcached')
    if not memcached:
        sys.exit('bench: memcached not installed (scripts/deps.sh test)')
    tool = load_tool(args.tool)

    wport, mport = procs.free_port(), procs.free_port()
    user = ['-u', 'root'] if os.geteuid() == 0 else []
    servers = {
        'weft': subprocess.Popen(
            ['taskset', '-c', args.server_cpu, weft, '--listen',
             'tcp:%d:interface=127.0.0.1' % wport, '--memory', '64'],
            stderr=subprocess.DEVNULL),
        'memcached': subprocess.Popen(
            ['taskset', '-c', args.server_cpu, memcached, '-t', '1', '-l',
             '127.0.0.1', '-p', str(mport), '-U', '0', '-m', '64'] + user,
            stderr=subprocess.DEVNULL),
    }
    ports = {'weft': wport, 'memcached': mport}
    results = {'weft': [], 'memcached': []}
    cpu = {'weft': [], 'memcached': []}
    try:
        for name in servers:
            try:
                procs.wait_port(ports[name], servers[name])
            except RuntimeError as e:
                sys.exit('bench: %s: %s' % (name, e))
        print('bench: %s, %d connections, %d-byte values, %d rounds of %d s'
              % (os.path.basename(tool[1]), args.concurrency,
                 args.value_size, args.rounds, args.seconds))
        for r in range(args.rounds):
            order = ['weft', 'memcached'] if r % 2 == 0 else \
                ['memcached', 'weft']
            for name in order:
                c0 = procs.cpu_seconds(servers[name].pid)
                ops, secs = run_load(tool, ports[name], args)
                c1 = procs.cpu_seconds(servers[name].pid)
                rate = ops / secs
                results[name].append(rate)
                cpu[name].append((c1 - c0) / ops * 1e6 if ops else 0)
                print('round %d %-9s %10.0f ops/s  %6.2f us server CPU/op'
                      % (r + 1, name, rate, cpu[name][-1]), flush=True)
    finally:
        procs.stop_all(list(servers.values()))
    w = statistics.median(results['weft'])
    m = statistics.median(results['memcached'])
    print('median: weft %.0f ops/s (%.2f us CPU/op), memcached %.0f ops/s '
          '(%.2f us CPU/op)' % (w, statistics.median(cpu['weft']), m,
                                statistics.median(cpu['memcached'])))
    print('RESULT bench=memcache weft=%.0f peer=memcached:%.0f ratio=%.3f '
          'unit=ops/s' % (w, m, w / m if m else 0))


if __name__ == '__main__':
    main()
