#!/usr/bin/env bash
# Runs Redis's own Tcl test suite (tests/ of a redis checkout, tag 7.0.15)
# against replsim, or against redis-server for comparison, and prints the
# tests passed and failed per unit.
#
# The checkout is never modified: its `runtest` and `tests/` are copied to a
# scratch directory whose `src/redis-server` is a link to the server under
# test (replsim behaves as `replsim serve` when started under that name).
#
# Usage:
#   scripts/redis-suite.sh [--redis] [--no-build] [--report] [--server BIN]
#                          [--out DIR] REDIS_CHECKOUT [UNIT...]
#
#   --redis       run the units on the installed redis-server instead
#   --no-build    do not run `cargo build` first (use the existing binary)
#   --server BIN  the server binary to test (default: replsim from
#                 $CARGO_TARGET_DIR or target/, or redis-server with --redis)
#   --out DIR     where the logs go (default: target/redis-suite); each run
#                 writes DIR/<redis|replsim>/<unit>.log
#   --report      run nothing: print a table comparing the logs already in
#                 DIR/redis and DIR/replsim
#   UNIT...       units as runtest names them (unit/expire, integration/rdb);
#                 default: the units listed in DEFAULT_UNITS below
#
# The two servers use different port ranges (--baseport), so both runs can
# go on at the same time.
#
# Environment: SUITE_TIMEOUT (seconds per unit, default 1200), SUITE_BASEPORT
# (first port of the range), SUITE_ARGS (extra runtest arguments).
#
# A unit whose server cannot start, or whose block setup fails outside a
# test, ends early (the Tcl harness stops it): its remaining tests count as
# neither passed nor failed.
set -euo pipefail

DEFAULT_UNITS=(
    unit/expire unit/keyspace unit/multi unit/auth unit/protocol unit/info
    unit/type/string unit/type/incr unit/type/hash unit/type/set
    unit/type/list unit/type/zset
    integration/replication integration/replication-2
    integration/replication-3 integration/replication-4
    integration/replication-psync integration/psync2 integration/psync2-reg
    integration/psync2-pingoff integration/block-repl integration/rdb
)

project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
use_redis=0
build=1
report_only=0
server=""
out="$project/target/redis-suite"
checkout=""
units=()

while [ $# -gt 0 ]; do
    case "$1" in
        --redis) use_redis=1 ;;
        --no-build) build=0 ;;
        --report) report_only=1 ;;
        --server) server="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 64 ;;
        *)
            if [ -z "$checkout" ]; then checkout="$1"; else units+=("$1"); fi ;;
    esac
    shift
done
# With --report the checkout is optional: a first word that is not a
# checkout is a unit.
if [ "$report_only" = 1 ] && [ -n "$checkout" ] && [ ! -x "$checkout/runtest" ]; then
    units=("$checkout" ${units[@]+"${units[@]}"})
    checkout=""
fi
[ ${#units[@]} -gt 0 ] || units=("${DEFAULT_UNITS[@]}")

# Counts of [ok], [err] and [exception] lines in one unit's log.
count() {
    local log="$1" pattern="$2"
    if [ -f "$log" ]; then grep -c -- "$pattern" "$log" || true; else echo "-"; fi
}

unit_file() { echo "$1" | tr '/' '_'; }

if [ "$report_only" = 1 ]; then
    printf '| unit | redis-server passed | failed | replsim passed | failed |\n'
    printf '|---|---:|---:|---:|---:|\n'
    total_redis=0
    total_replsim=0
    for unit in "${units[@]}"; do
        name="$(unit_file "$unit")"
        r="$out/redis/$name.log"
        s="$out/replsim/$name.log"
        r_ok=$(count "$r" '^\[ok\]')
        s_ok=$(count "$s" '^\[ok\]')
        r_bad=$(( $(count "$r" '^\[err\]' | tr -d -) + $(count "$r" '^\[exception\]' | tr -d -) + 0 ))
        s_bad=$(( $(count "$s" '^\[err\]' | tr -d -) + $(count "$s" '^\[exception\]' | tr -d -) + 0 ))
        printf '| %s | %s | %s | %s | %s |\n' "$unit" "$r_ok" "$r_bad" "$s_ok" "$s_bad"
        [ "$r_ok" = "-" ] || total_redis=$((total_redis + r_ok))
        [ "$s_ok" = "-" ] || total_replsim=$((total_replsim + s_ok))
    done
    printf '| total | %s | | %s | |\n' "$total_redis" "$total_replsim"
    exit 0
fi

if [ -z "$checkout" ] || [ ! -x "$checkout/runtest" ] || [ ! -d "$checkout/tests" ]; then
    echo "usage: $0 [--redis] [--no-build] [--report] [--server BIN] [--out DIR] REDIS_CHECKOUT [UNIT...]" >&2
    echo "REDIS_CHECKOUT must hold redis's runtest and tests/ (tag 7.0.15)" >&2
    exit 64
fi
command -v tclsh >/dev/null || { echo "tclsh is needed (apt-get install tcl)" >&2; exit 64; }

if [ "$use_redis" = 1 ]; then
    label=redis
    baseport="${SUITE_BASEPORT:-21111}"
    [ -n "$server" ] || server="$(command -v redis-server)"
else
    label=replsim
    baseport="${SUITE_BASEPORT:-26111}"
    if [ -z "$server" ]; then
        target="${CARGO_TARGET_DIR:-$project/target}"
        if [ "$build" = 1 ]; then
            (cd "$project" && cargo build --quiet)
        fi
        server="$target/debug/replsim"
    fi
fi
[ -x "$server" ] || { echo "no server binary at $server" >&2; exit 64; }
server="$(cd "$(dirname "$server")" && pwd)/$(basename "$server")"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/redis-suite.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
cp -r "$checkout/runtest" "$checkout/tests" "$scratch/"
mkdir -p "$scratch/src"
ln -s "$server" "$scratch/src/redis-server"
# Helpers some units start besides the server: the installed ones.
for tool in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    if command -v "$tool" >/dev/null; then ln -s "$(command -v "$tool")" "$scratch/src/$tool"; fi
done

mkdir -p "$out/$label"
printf '%-34s %6s %6s %9s\n' "$label: unit" passed failed exception
for unit in "${units[@]}"; do
    log="$out/$label/$(unit_file "$unit").log"
    # --durable turns an exception into a failed test instead of ending
    # the unit, so that one unsupported command costs its test only.
    (cd "$scratch" && TERM=dumb timeout --kill-after=10 "${SUITE_TIMEOUT:-1200}" \
        ./runtest --single "$unit" --durable --clients 1 --timeout 120 \
        --baseport "$baseport" \
        ${SUITE_ARGS:-} >"$log" 2>&1) || true
    printf '%-34s %6s %6s %9s\n' "$unit" "$(count "$log" '^\[ok\]')" \
        "$(count "$log" '^\[err\]')" "$(count "$log" '^\[exception\]')"
done
