#!/bin/sh
# Installs the Debian packages weft needs, or prints the command when not
# root.  Called by `make deps` (and so by `make`, `make run`, `make test`).
# Usage: scripts/deps.sh [build|test]
set -e
build_pkgs="make gcc pkg-config ragel libevent-dev libcmocka-dev python3 python3-lark python3-jinja2"
test_pkgs="clang libclang-rt-14-dev curl valgrind redis-server redis-tools memcached libmemcached-tools swaks python3-twisted"
bench_pkgs="wrk nginx-light libhttp-parser-dev libh2o-evloop-dev h2o"
case "${1:-build}" in
    build) want="$build_pkgs" ;;
    test) want="$build_pkgs $test_pkgs" ;;
    bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
    *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || apt-get update >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
