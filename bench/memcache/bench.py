"""bench/memcache — weft-memcached against memcached -t 1.

Both servers run at once, pinned to CPU 0 (taskset), each with 64 MB of
item memory.  The load generator, memaslap (Debian names it memcaslap,
from libmemcached-tools; memcslap is the fallback), runs pinned to CPU 1
with the same settings against each server in turn, interleaved
(weft, memcached, memcached, weft, ...), and the median ops/s of each
server is reported.  --tool memcslap uses libmemcached's memcslap instead
(--concurrency threads, each getting random keys of a set of --ops values
of up to a few KB; it reports a time, from which ops/s is computed).

Each run also reads /proc/PID/task/*/schedstat (nanosecond precision)
before and after: the server's CPU time per operation (all its threads)
and the run-queue wait per operation of its busiest thread (the time the
request-serving thread was runnable but not running).  On a quiet machine
the ops/s ratio is the figure.  On a shared, busy one, ops/s follow the
run-queue wait, which memcached shortens for itself: its LRU maintainer
thread wakes every millisecond while memcached is busy and each wake-up
preempts the other jobs on the server CPU (docs/memcache.md).  There use
--together: each round then loads both servers at the same moment (two
load generators, the same settings, both on the load CPU), so both meet
the same background load and the same wake-ups.  The last line is
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


def sched(pid):
    """{tid: (run ns, run-queue wait ns)} for every thread of pid."""
    out = {}
    base = '/proc/%d/task' % pid
    for tid in os.listdir(base):
        try:
            with open('%s/%s/schedstat' % (base, tid)) as f:
                run, wait = f.read().split()[:2]
        except OSError:
            continue               # the thread just exited
        out[tid] = (int(run), int(wait))
    return out


def sched_delta(before, after, ops):
    """(CPU us/op of all threads, run-queue wait us/op of the busiest)."""
    cpu, busiest = 0, (0, 0)
    for tid, (run, wait) in after.items():
        r0, w0 = before.get(tid, (0, 0))
        cpu += run - r0
        busiest = max(busiest, (run - r0, wait - w0))
    if not ops:
        return 0.0, 0.0
    return cpu / ops / 1e3, busiest[1] / ops / 1e3


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


def start_load(tool, port, args):
    """Starts the load generator against port; finish_load reads it."""
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
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish_load(tool, proc, args):
    """Waits for a load generator; returns (operations, seconds)."""
    try:
        out = proc.communicate(timeout=args.seconds * 4 + 120)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        sys.exit('bench: the load generator did not finish')
    if tool[0] == 'memaslap':
        m = re.search(r'Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)', out)
        if not m:
            sys.exit('bench: cannot read memaslap output:\n' + out[-2000:])
        return int(m.group(2)), float(m.group(1))
    # memcslap reports time, not a rate: "Time to get 40000 keys by 32
    # threads: 1.234 seconds." (the untimed set phase before it loads the
    # keys)
    m = re.search(r'Time to get\s+(\d+) keys by\s+\d+ threads:\s+([\d.]+) '
                  r'seconds', out)
    if not m or float(m.group(2)) <= 0:
        sys.exit('bench: cannot read memcslap output:\n' + out[-2000:])
    return int(m.group(1)), float(m.group(2))


def measure(tool, names, servers, ports, args):
    """Loads the servers in names at the same time (one load generator
    each); returns {name: (ops/s, CPU us/op, run-queue wait us/op)}."""
    before = {n: sched(servers[n].pid) for n in names}
    loads = {n: start_load(tool, ports[n], args) for n in names}
    out = {}
    for n in names:
        ops, secs = finish_load(tool, loads[n], args)
        cpu, wait = sched_delta(before[n], sched(servers[n].pid), ops)
        out[n] = (ops / secs, cpu, wait)
    return out


def main():
    ap = argparse.ArgumentParser(
        prog='bench/run memcache', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true',
                    help='3 rounds of 2 s (default: 5 rounds of 5 s)')
    ap.add_argument('--rounds', type=int, help='rounds (>= 3)')
    ap.add_argument('--seconds', type=int,
                    help='memaslap only: seconds per run')
    ap.add_argument('--concurrency', type=int, default=32,
                    help='memaslap: connections; memcslap: threads, one '
                    'connection each (default 32)')
    ap.add_argument('--value-size', type=int, default=100,
                    help='memaslap only: value bytes (default 100)')
    ap.add_argument('--ops', type=int, default=2000,
                    help='memcslap only: keys loaded, and gets per thread '
                    '(default 2000)')
    ap.add_argument('--tool', choices=('memaslap', 'memcslap'),
                    help='load generator (default: memaslap/memcaslap if '
                    'installed, else memcslap)')
    ap.add_argument('--together', action='store_true',
                    help='load both servers at the same moment in each '
                    'round instead of one after the other (for a busy '
                    'machine)')
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
    res = {'weft': [], 'memcached': []}
    pairs = []
    try:
        for name in servers:
            try:
                procs.wait_port(ports[name], servers[name])
            except RuntimeError as e:
                sys.exit('bench: %s: %s' % (name, e))
        if tool[0] == 'memaslap':
            what = ('%d connections, %d-byte values, %d s per run'
                    % (args.concurrency, args.value_size, args.seconds))
        else:
            what = ('%d threads x %d gets of %d keys'
                    % (args.concurrency, args.ops, args.ops))
        print('bench: %s, %s, %d rounds, %s'
              % (os.path.basename(tool[1]), what, args.rounds,
                 'both servers loaded together' if args.together
                 else 'servers in turn'))
        for r in range(args.rounds):
            if args.together:
                got = measure(tool, ['weft', 'memcached'], servers, ports,
                              args)
            else:
                order = ['weft', 'memcached'] if r % 2 == 0 else \
                    ['memcached', 'weft']
                got = {}
                for name in order:
                    got.update(measure(tool, [name], servers, ports, args))
            for name in ('weft', 'memcached'):
                res[name].append(got[name])
                print('round %d %-9s %10.0f ops/s  server CPU %6.2f us/op  '
                      'run-queue wait %7.2f us/op' % ((r + 1, name)
                                                     + got[name]),
                      flush=True)
            pairs.append(got['weft'][0] / got['memcached'][0])
    finally:
        procs.stop_all(list(servers.values()))

    def med(name, i):
        return statistics.median(x[i] for x in res[name])
    w, m = med('weft', 0), med('memcached', 0)
    for name in ('weft', 'memcached'):
        print('median %-9s %10.0f ops/s  server CPU %6.2f us/op  '
              'run-queue wait %7.2f us/op'
              % (name, med(name, 0), med(name, 1), med(name, 2)))
    print('median of the per-round ratios: %.3f; server CPU per op '
          'memcached/weft: %.3f' % (statistics.median(pairs),
                                    med('memcached', 1) / med('weft', 1)))
    print('RESULT bench=memcache weft=%.0f peer=memcached:%.0f ratio=%.3f '
          'unit=ops/s' % (w, m, w / m if m else 0))


if __name__ == '__main__':
    main()
