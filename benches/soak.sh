#!/usr/bin/env bash
# Soak: a replsim master and three replsim replicas on real TCP under
# redis-benchmark write load for MINUTES (default 10). Every minute one
# replica's master link is killed (`CLIENT KILL TYPE master`) and another
# replica is restarted (SIGTERM, then started again on its dir). RSS of
# every node is sampled every 5 s. At the end the load stops and the run
# passes when every replica reached the master's offset with the master's
# DEBUG DIGEST, no node logged a panic, and no node's RSS in the last
# minute exceeds twice its peak in the second minute (plus 32 MB).
#
# usage: benches/soak.sh [MINUTES]
# Needs redis-benchmark and redis-cli; builds replsim in release. Ports
# 7800-7803 on 127.0.0.1.
set -euo pipefail
minutes=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q --manifest-path "$root/Cargo.toml"
replsim="$root/target/release/replsim"
work=$(mktemp -d)
master=7800
replicas=(7801 7802 7803)
declare -A pids
bench_pid=""

cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true
  for port in $master "${replicas[@]}"; do
    [ -n "${pids[$port]:-}" ] && kill "${pids[$port]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_node() {
  local port=$1; shift
  mkdir -p "$work/$port"
  "$replsim" serve --port "$port" --dir "$work/$port" \
    --config enable-debug-command=yes "$@" >> "$work/$port.log" 2>&1 &
  pids[$port]=$!
  for _ in $(seq 200); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "node $port never answered" >&2
  exit 1
}

field() { redis-cli -p "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/${pids[$1]}/status" 2>/dev/null || echo 0; }

start_node $master
for port in "${replicas[@]}"; do start_node "$port" --replicaof "127.0.0.1 $master"; done

# Bounded keyspace (-r): RSS should level off once every key exists.
(
  while :; do
    redis-benchmark -p $master -q -r 200000 -d 64 -P 16 -c 8 -n 400000 \
      -t set,incr,hset,sadd >> "$work/bench.log" 2>&1 || true
  done
) &
bench_pid=$!

echo "elapsed_s,master_kb,r1_kb,r2_kb,r3_kb" > "$work/rss.csv"
start=$(date +%s)
end=$((start + minutes * 60))
next_fault=$((start + 60))
fault=0
while [ "$(date +%s)" -lt "$end" ]; do
  now=$(date +%s)
  echo "$((now - start)),$(rss_kb $master),$(rss_kb 7801),$(rss_kb 7802),$(rss_kb 7803)" >> "$work/rss.csv"
  if [ "$now" -ge "$next_fault" ]; then
    killed=${replicas[$((fault % 3))]}
    restarted=${replicas[$(((fault + 1) % 3))]}
    echo "minute $((fault + 1)): CLIENT KILL TYPE master on $killed, restart $restarted"
    redis-cli -p "$killed" client kill type master >/dev/null
    kill -TERM "${pids[$restarted]}"
    wait "${pids[$restarted]}" 2>/dev/null || true
    start_node "$restarted" --replicaof "127.0.0.1 $master"
    fault=$((fault + 1))
    next_fault=$((next_fault + 60))
  fi
  sleep 5
done

kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
pkill -f "redis-benchmark -p $master" 2>/dev/null || true
bench_pid=""
writes=$(field $master stats total_commands_processed)

status=0
# The master keeps pinging its replicas (14 bytes every 10 s): each
# replica is compared with the master's offset read at the same moment.
caught_up() {
  [ "$(field "$1" replication master_link_status)" = up ] &&
    [ "$(field "$1" replication master_repl_offset)" = "$(field $master replication master_repl_offset)" ]
}
for port in "${replicas[@]}"; do
  for _ in $(seq 600); do caught_up "$port" && break; sleep 0.1; done
done
master_offset=$(field $master replication master_repl_offset)
master_digest=$(redis-cli -p $master debug digest)
echo "master: offset $master_offset, digest $master_digest, keys $(redis-cli -p $master dbsize), commands $writes"
for port in "${replicas[@]}"; do
  digest=$(redis-cli -p "$port" debug digest)
  offset=$(field "$port" replication master_repl_offset)
  full=$(grep -c "Full resync from master" "$work/$port.log" || true)
  partial=$(grep -c "Successful partial resynchronization" "$work/$port.log" || true)
  verdict=ok
  if [ "$digest" != "$master_digest" ] || ! caught_up "$port"; then
    verdict=DIVERGED; status=1
  fi
  echo "replica $port: offset $offset, digest $digest, full syncs $full, partial $partial: $verdict"
done
if grep -l "panicked" "$work"/*.log; then
  echo "a node panicked"; status=1
fi

# RSS: peak per node in minute 2 against peak in the last minute.
python3 - "$work/rss.csv" "$minutes" <<'PY' || status=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
minutes = int(sys.argv[2])
names = ["master_kb", "r1_kb", "r2_kb", "r3_kb"]
early = [r for r in rows if 60 <= int(r["elapsed_s"]) < 120] or rows
late = [r for r in rows if int(r["elapsed_s"]) >= (minutes - 1) * 60] or rows
bad = False
for n in names:
    peak = max(int(r[n]) for r in rows)
    e = max(int(r[n]) for r in early)
    l = max(int(r[n]) for r in late)
    ok = l <= 2 * e + 32 * 1024
    bad |= not ok
    print(f"{n[:-3]:>6}: RSS peak {peak // 1024} MB, minute 2 {e // 1024} MB, last minute {l // 1024} MB: {'bounded' if ok else 'GROWING'}")
sys.exit(1 if bad else 0)
PY
cp "$work/rss.csv" "${SOAK_RSS_CSV:-/dev/null}" 2>/dev/null || true
[ $status -eq 0 ] && echo "soak passed" || echo "soak FAILED"
exit $status
