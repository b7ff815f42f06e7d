#!/bin/bash
# Runs every test suite of `make test`, keeps going after a failure, and
# ends with one summary line "N passed, N failed" (suites, not cases; each
# suite prints its own case counts above).
# Usage: scripts/run-tests.sh PYTHON "CTESTS" "PYTESTS"
py="$1"; ctests="$2"; pytests="$3"
pass=0; fail=0; failed=()
run() {   # run NAME CMD...
    local name="$1"; shift
    echo "=== $name"
    if timeout 900 "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); failed+=("$name")
        echo "*** FAILED: $name"
    fi
}
export WEFT_BIN="$PWD/build/asan/bin" WEFT_PLAIN_BIN="$PWD/build/bin"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export PYTHONDONTWRITEBYTECODE=1
if [ -d tests/gen ]; then
    run generator "$py" -m unittest discover -s tests/gen -t . -v
fi
for t in $ctests; do
    run "$t" "build/tests/$t"
    run "$t (asan+ubsan)" "build/asan/tests/$t"
done
for t in $pytests; do
    run "$t" "$py" -m unittest -v "$t"
done
echo
[ "$fail" -gt 0 ] && printf 'failed suite: %s\n' "${failed[@]}"
echo "suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
