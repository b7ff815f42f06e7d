#!/bin/bash
# Runs every test suite of `make test`, keeps going after a failure, and
# ends with one summary line "N passed, N failed" (suites, not cases; each
# suite prints its own case counts above).
# Usage: scripts/run-tests.sh PYTHON "CTESTS" "PYTESTS" "FUZZERS"
# Environment: B (build dir, default build), FUZZ_SECONDS (default 20).
py="$1"; ctests="$2"; pytests="$3"; fuzzers="$4"
B="${B:-build}"; FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
case "$B" in /*) ;; *) B="$PWD/$B" ;; esac
pass=0; fail=0; failed=()
run() {   # run NAME CMD...
    local name="$1"; shift
    echo "=== $name"
    local t=(timeout 900) start=$SECONDS
    # Shell functions cannot run under timeout(1); they bound themselves.
    declare -F "$1" >/dev/null && t=()
    if "${t[@]}" "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); failed+=("$name")
        echo "*** FAILED: $name"
    fi
    # How long each suite took: what to look at when a run is slow.
    echo "--- $name: $((SECONDS - start)) s"
}
export WEFT_BIN="$B/asan/bin" WEFT_PLAIN_BIN="$B/bin"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export PYTHONDONTWRITEBYTECODE=1
if [ -d tests/gen ]; then
    run generator "$py" -m unittest discover -s tests/gen -t . -v
fi
for t in $ctests; do
    run "$t" "$B/tests/$t"
    run "$t (asan+ubsan)" "$B/asan/tests/$t"
done
for t in $pytests; do
    run "$t" "$py" -m unittest -v "$t"
done
# Each fuzzer runs for a bounded time on its seeds plus the corpus it grew
# in earlier runs; a crash or a split-invariance failure fails the suite.
fuzz() {  # fuzz NAME
    local f="$1" log="$B/fuzz/$1.log"
    mkdir -p "$B/fuzz/corpus-$f"
    if "$B/fuzz/$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="$B/fuzz/$f-" \
        "$B/fuzz/corpus-$f" $(ls -d "tests/fuzz/seeds/$f" 2>/dev/null) \
        >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units" "$log" || true
    else
        tail -40 "$log"; return 1
    fi
}
for f in $fuzzers; do
    run "$f (libFuzzer, ${FUZZ_SECONDS}s)" fuzz "$f"
done
echo
[ "$fail" -gt 0 ] && printf 'failed suite: %s\n' "${failed[@]}"
echo "suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
