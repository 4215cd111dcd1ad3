#!/usr/bin/env bash
# Times a full sync of a replica from a real redis-server 7.0 master, for a
# replsim replica and a redis-server replica side by side, with both
# framings: `$EOF:` (diskless sync, Redis's default) and `$<len>` (disk).
# Also prints the replica's peak RSS (VmHWM).
#
# usage: benches/full_sync_from_redis.sh [KEYS] [VALUE_BYTES] [extra replsim args...]
#   e.g. benches/full_sync_from_redis.sh 200000 500 --config repl-diskless-load=swapdb
# Needs redis-server, redis-cli and python3; builds replsim in release.
set -euo pipefail
keys=${1:-200000}
value_bytes=${2:-500}
shift $(( $# < 2 ? $# : 2 ))
extra=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q --manifest-path "$root/Cargo.toml"
replsim="$root/target/release/replsim"
work=$(mktemp -d)
master_port=7790
replica_port=7791
trap 'redis-cli -p $master_port shutdown nosave >/dev/null 2>&1 || true; redis-cli -p $replica_port shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Random hex values: LZF cannot shrink them, so the payload is the data.
python3 - "$keys" "$value_bytes" "$work/load.resp" <<'PY'
import os, sys
keys, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, 'wb') as f:
    for i in range(keys):
        k = b'key:%d' % i
        v = os.urandom(size // 2).hex().encode()
        f.write(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' % (len(k), k, len(v), v))
PY

wait_port() {
  for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "port $1 never answered" >&2; exit 1
}

run() {
  local kind=$1 framing=$2 diskless=yes
  [ "$framing" = len ] && diskless=no
  rm -rf "$work/m" "$work/r" "$work/m.log" "$work/r.log"; mkdir "$work/m" "$work/r"
  redis-server --port $master_port --dir "$work/m" --save '' --repl-diskless-sync $diskless \
    --repl-diskless-sync-delay 0 --daemonize yes --logfile "$work/m.log"
  wait_port $master_port
  redis-cli -p $master_port --pipe < "$work/load.resp" >/dev/null
  if [ "$kind" = replsim ]; then
    "$replsim" serve --port $replica_port --dir "$work/r" "${extra[@]}" > "$work/r.log" 2>&1 &
  else
    redis-server --port $replica_port --dir "$work/r" --save '' --daemonize yes --logfile "$work/r.log"
  fi
  wait_port $replica_port
  local pid start end status=""
  pid=$(redis-cli -p $replica_port info server | tr -d '\r' | sed -n 's/^process_id://p')
  start=$(date +%s.%N)
  redis-cli -p $replica_port replicaof 127.0.0.1 $master_port >/dev/null
  until [ "$status" = up ]; do
    sleep 0.02
    status=$(redis-cli -p $replica_port info replication | tr -d '\r' | sed -n 's/^master_link_status://p')
  done
  end=$(date +%s.%N)
  local bytes hwm
  bytes=$(grep -o 'receiving [0-9]* bytes\|receiving streamed' "$work/r.log" | head -1)
  hwm=$(sed -n "s/^VmHWM:[[:space:]]*//p" "/proc/$pid/status")
  printf '%-8s %-4s %6.2f s  peak RSS %-10s keys %s  (%s)\n' "$kind" "$framing" \
    "$(echo "$end - $start" | bc)" "$hwm" "$(redis-cli -p $replica_port dbsize)" "$bytes"
  redis-cli -p $replica_port shutdown nosave >/dev/null 2>&1 || true
  redis-cli -p $master_port shutdown nosave >/dev/null 2>&1 || true
  sleep 0.3
}

for framing in eof len; do
  run redis $framing
  run replsim $framing
done
