"""bench/echo: line echo (weft-lineecho) vs raw echo (weft-echo) vs Twisted.

Each run starts one server pinned to CPU 0, then the C load client
(bench/echo/echo_client.c) pinned to CPU 1 writes LINES lines of 32 bytes
over one connection while reading the echoes back (pipelined), checks every
byte and reports lines/s.  Servers run in turn, the order rotating every
round, ROUNDS times; the figures are medians.  The server's CPU time
(from /proc/PID/schedstat) gives a second, steadier figure: lines per
server CPU-second.

Last line:
RESULT bench=echo weft=<lines/s> peer=raw-echo:<lines/s> ratio=<weft/raw> unit=lines/s

On a loaded machine, bench/echo/callgrind gives a steadier figure: the
servers' instructions per echoed line under callgrind.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)
from tests.integration import procs  # noqa: E402  (after the path)


def build(b):
    """Builds the two weft servers and the client; returns their paths."""
    subprocess.run(["make", "--no-print-directory", "-s", "B=" + b,
                    b + "/bin/weft-lineecho", b + "/bin/weft-echo"],
                   cwd=TOP, check=True, stdout=sys.stderr)
    client = os.path.join(b, "bench", "echo_client")
    os.makedirs(os.path.dirname(client), exist_ok=True)
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-Wall", "-Wextra",
                    os.path.join(HERE, "echo_client.c"), "-o", client],
                   check=True)
    return (os.path.join(b, "bin", "weft-lineecho"),
            os.path.join(b, "bin", "weft-echo"), client)


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []


def cpu_seconds(pid):
    """CPU time the process has run, in seconds (ns precision)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e9


def start(kind, paths):
    """Starts a server on a free port; returns (process, port)."""
    lineecho, echo, _ = paths
    if kind == "twisted":
        cmd = ["/usr/bin/python3", os.path.join(HERE, "twisted_lineecho.py")]
        proc = subprocess.Popen(pin(0) + cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        stream, pattern = proc.stdout, r"port (\d+)"
    else:
        prog = lineecho if kind == "weft" else echo
        cmd = [prog, "--listen", "tcp:0:interface=127.0.0.1"]
        proc = subprocess.Popen(pin(0) + cmd, stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)
        stream, pattern = proc.stderr, r"127\.0\.0\.1:(\d+)"
    deadline = time.time() + 20
    while time.time() < deadline:
        line = stream.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return proc, int(m.group(1))
    procs.stop(proc)
    raise RuntimeError("%s server did not start" % kind)


def one_run(kind, paths, lines, timeout):
    proc, port = start(kind, paths)
    try:
        before = cpu_seconds(proc.pid)
        out = subprocess.run(pin(1) + [paths[2], str(port), str(lines),
                                       str(timeout)],
                             capture_output=True, text=True,
                             timeout=timeout + 10)
        cpu = cpu_seconds(proc.pid) - before
    finally:
        procs.stop(proc)
    if out.returncode != 0:
        raise RuntimeError("%s: client failed: %s" % (kind, out.stderr.strip()))
    rate = float(re.search(r"lines_per_s=([\d.]+)", out.stdout).group(1))
    return rate, (lines / cpu if cpu > 0 else float("inf"))


def main():
    ap = argparse.ArgumentParser(
        prog="bench/run echo",
        description="Line echo generated from spec/lineecho.weft against a "
        "raw echo and Twisted's LineReceiver, 32-byte lines over one "
        "pipelined loopback connection.")
    ap.add_argument("--lines", type=int, default=1000000,
                    help="lines per run (default 1000000)")
    ap.add_argument("--rounds", type=int, default=15,
                    help="rounds; each runs every server once (default 15: "
                    "a run of 1M lines takes ~30 ms, which a shared "
                    "machine's stalls move by up to 2x)")
    ap.add_argument("--no-twisted", action="store_true",
                    help="skip the Twisted reference")
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds allowed per run (default 60)")
    args = ap.parse_args()
    b = os.environ.get("B", "build")
    if not os.path.isabs(b):
        b = os.path.join(TOP, b)
    paths = build(b)
    kinds = ["weft", "raw"]
    if not args.no_twisted:
        kinds.append("twisted")
    rates = {k: [] for k in kinds}
    percpu = {k: [] for k in kinds}
    for r in range(args.rounds):
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
        for k in order:
            rate, pc = one_run(k, paths, args.lines, args.timeout)
            rates[k].append(rate)
            percpu[k].append(pc)
            print("round %d %-8s %10.0f lines/s  %10.0f lines/server-CPU-s"
                  % (r + 1, k, rate, pc), flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    medc = {k: statistics.median(v) for k, v in percpu.items()}
    for k in kinds:
        print("median %-8s %10.0f lines/s  %10.0f lines/server-CPU-s"
              % (k, med[k], medc[k]))
    if "twisted" in med:
        print("reference: twisted LineReceiver %.0f lines/s (weft/twisted "
              "%.1fx)" % (med["twisted"], med["weft"] / med["twisted"]))
    print("per server CPU-second: weft=%.0f raw-echo=%.0f ratio=%.2f"
          % (medc["weft"], medc["raw"], medc["weft"] / medc["raw"]))
    # Each round runs the two back to back, so a round's ratio shares its
    # moment's load (a shared machine's steal time moves single runs by up
    # to 2x); RESULT stays the ratio of the medians.
    pairs = [w / r for w, r in zip(rates["weft"], rates["raw"])]
    print("median of the per-round ratios: %.2f (of %d rounds)"
          % (statistics.median(pairs), len(pairs)))
    print("RESULT bench=echo weft=%.0f peer=raw-echo:%.0f ratio=%.2f "
          "unit=lines/s" % (med["weft"], med["raw"], med["weft"] / med["raw"]))


if __name__ == "__main__":
    main()
