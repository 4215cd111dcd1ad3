#!/usr/bin/env bash
# Runs one fuzz target: fuzz/run.sh TARGET [SECONDS] [extra libFuzzer args].
#
# cargo fuzz puts its own flags in RUSTFLAGS, which replaces the
# `[build] rustflags` of .cargo/config.toml; `--cfg madsim` is added here so
# the library is built exactly as `cargo test` builds it (the targets refuse
# to compile without it). One process (libFuzzer's default: no -jobs, whose
# -jobs=N forks workers and sends their output to fuzz-N.log), debug
# assertions on. fuzz/TARGET.dict, when there is one, is libFuzzer's -dict.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer args...]}
seconds=${2:-480}
shift $(( $# >= 2 ? 2 : 1 ))
[ -d "fuzz/corpus/$target" ] || fuzz/seed.sh
dict=()
[ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")
export RUSTFLAGS="--cfg madsim ${RUSTFLAGS:-}"
exec cargo +nightly fuzz run -a "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 "${dict[@]}" "$@"
