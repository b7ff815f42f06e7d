"""bench/resp: redis-benchmark against redis-server and weft-redis.

Both servers run side by side, pinned to CPU 0 (taskset); redis-benchmark
runs pinned to CPU 1.  For each pipelining setting (none, -P 16) and each
repetition the two servers are measured back to back, in alternating order
(redis weft, weft redis, ...), and the medians per test are reported with
the geometric mean over the tests:

  RESULT bench=resp weft=<ops/s> peer=redis:<ops/s> ratio=<weft/redis> unit=ops/s
  RESULT bench=resp-P16 ...

Then (unless --no-idle) the memory per idle client: N clients connect, each
sends one PING and stays idle; (RSS after - RSS before) / N per server.
"""

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)
from tests.integration import procs  # noqa: E402  (after the path)
TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]


# wait_port probe: the server answers PING.
pong = procs.answers(b"PING\r\n", b"+PONG\r\n")


def start(kind, weft_bin, tmp, cpu):
    port = procs.free_port()
    if kind == "redis":
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--daemonize", "no",
               "--dir", tmp, "--maxclients", "20000"]
    else:
        cmd = [weft_bin, "--listen", "tcp:%d:interface=127.0.0.1" % port]
    proc = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.wait_port(port, proc, probe=pong)
    return proc, port


def bench_once(port, n, clients, pipeline, cpu, pid):
    """ops/s per test, and the server's CPU seconds for the whole run."""
    cmd = ["taskset", "-c", str(cpu), "redis-benchmark", "-p", str(port),
           "-t", "ping_inline,ping_mbulk,set,get,incr,mset",
           "-n", str(n), "-c", str(clients), "--csv"]
    if pipeline > 1:
        cmd += ["-P", str(pipeline)]
    cpu0 = procs.cpu_seconds(pid)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    used = procs.cpu_seconds(pid) - cpu0
    if p.returncode != 0:
        raise RuntimeError("redis-benchmark failed: %s" % p.stderr)
    out = {}
    for line in p.stdout.splitlines():
        fields = [f.strip('"') for f in line.split('","')]
        if len(fields) >= 2 and fields[0] in TESTS:
            out[fields[0]] = float(fields[1])
    missing = [t for t in TESTS if t not in out]
    if missing:
        raise RuntimeError("redis-benchmark gave no result for %s:\n%s"
                           % (missing, p.stdout))
    return out, used


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def server_pid(proc):
    # taskset execs the server, so the pid is the server's.
    return proc.pid


def idle_clients(kind, weft_bin, tmp, n):
    proc, port = start(kind, weft_bin, tmp, 0)
    try:
        time.sleep(0.3)
        before = procs.rss_bytes(server_pid(proc))
        with procs.IdleClients(n, port, send=b"PING\r\n",
                               reply=b"+PONG\r\n"):
            # Let the server settle (Redis trims client buffers in its
            # cron).
            time.sleep(2.5)
            after = procs.rss_bytes(server_pid(proc))
    finally:
        procs.stop(proc)
    return (after - before) / n


def main():
    ap = argparse.ArgumentParser(
        prog="bench/run resp",
        description="redis-benchmark against redis-server and weft-redis "
                    "(-t ping_inline,ping_mbulk,set,get,incr,mset -c 50), "
                    "without and with -P 16, interleaved, medians; then "
                    "memory per idle client.")
    ap.add_argument("--quick", action="store_true",
                    help="-n 20000 instead of 200000 (a trial run)")
    ap.add_argument("-n", type=int, default=None,
                    help="requests per test (default 200000)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="repetitions per server and setting (default 3)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--idle", type=int, default=5000,
                    help="idle clients for the memory figure (default 5000)")
    ap.add_argument("--no-idle", action="store_true",
                    help="skip the idle-client memory measurement")
    ap.add_argument("--bin", default=os.environ.get(
        "WEFT_PLAIN_BIN", os.path.join(ROOT, "build", "bin")),
        help="directory of the plain (unsanitized) weft-redis "
             "(default $WEFT_PLAIN_BIN or build/bin)")
    args = ap.parse_args()
    n = args.n or (20000 if args.quick else 200000)
    weft_bin = os.path.join(args.bin, "weft-redis")
    if not os.access(weft_bin, os.X_OK):
        sys.exit("bench/resp: %s not found; run `make` first" % weft_bin)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * args.idle + 200))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    tmp = tempfile.mkdtemp(prefix="bench-resp-")
    servers = {}
    try:
        for kind in ("redis", "weft"):
            servers[kind] = start(kind, weft_bin, tmp, 0)
        results = {}
        for pipeline in (1, 16):
            runs = {"redis": [], "weft": []}
            cpu = {"redis": [], "weft": []}
            for rep in range(args.repeats):
                order = ("redis", "weft") if rep % 2 == 0 else ("weft", "redis")
                for kind in order:
                    r, used = bench_once(servers[kind][1], n, args.clients,
                                         pipeline, 1, servers[kind][0].pid)
                    runs[kind].append(r)
                    cpu[kind].append(used)
                    print("# P=%d rep %d %-5s %s cpu=%.2fs" % (
                        pipeline, rep + 1, kind,
                        " ".join("%s=%.0f" % (t.split()[0], r[t])
                                 for t in TESTS), used), flush=True)
            results[pipeline] = (runs, cpu)
    finally:
        for proc, _ in servers.values():
            procs.stop(proc)

    print()
    print("redis-benchmark -n %d -c %d, medians of %d runs (ops/s)"
          % (n, args.clients, args.repeats))
    lines = []
    for pipeline in (1, 16):
        runs, cpu = results[pipeline]
        label = "resp" if pipeline == 1 else "resp-P%d" % pipeline
        print()
        print("%-16s %12s %12s %7s   (%s)" % ("test", "weft-redis",
                                              "redis-server", "ratio",
                                              "no pipelining" if pipeline == 1
                                              else "-P %d" % pipeline))
        med = {k: {t: statistics.median(r[t] for r in runs[k]) for t in TESTS}
               for k in runs}
        for t in TESTS:
            print("%-16s %12.0f %12.0f %7.2f" % (t, med["weft"][t],
                                                 med["redis"][t],
                                                 med["weft"][t] / med["redis"][t]))
        gw = geomean([med["weft"][t] for t in TESTS])
        gr = geomean([med["redis"][t] for t in TESTS])
        print("%-16s %12.0f %12.0f %7.2f" % ("geomean", gw, gr, gw / gr))
        # Requests per server CPU-second: steadier than ops/s on a shared
        # machine (6 tests x n requests per run).
        cw = 6 * n / statistics.median(cpu["weft"])
        cr = 6 * n / statistics.median(cpu["redis"])
        print("%-16s %12.0f %12.0f %7.2f" % ("ops/server-cpu-s", cw, cr,
                                             cw / cr))
        lines.append("RESULT bench=%s weft=%.0f peer=redis:%.0f ratio=%.3f "
                     "unit=ops/s" % (label, gw, gr, gw / gr))

    if not args.no_idle:
        print()
        per = {"weft": [], "redis": []}
        for rep in range(2):
            for kind in (("weft", "redis") if rep % 2 == 0
                         else ("redis", "weft")):
                per[kind].append(idle_clients(kind, weft_bin, tmp, args.idle))
        w = statistics.median(per["weft"])
        r = statistics.median(per["redis"])
        print("memory per idle client at %d clients (RSS delta / clients, "
              "median of 2): weft-redis %.0f B, redis-server %.0f B, "
              "ratio %.2f" % (args.idle, w, r, w / r))
    print()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
