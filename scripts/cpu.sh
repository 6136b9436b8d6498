#!/usr/bin/env bash
# CPU time per request of the gateway process, from /proc/PID/stat (user + system ticks):
# `bifrost serve` in front of the bench mock, both pinned to CPU 1, the driver of
# scripts/callgrind.sh on CPU 0 sending N requests one at a time over one connection.
#   scripts/cpu.sh [BIN] [N] [MODEL] [capture true|false]
# MODEL defaults to the fixture's own (passthrough); anthropic/claude-sonnet-4-5 measures the
# translated path. BODY and VARY are passed to the driver (see scripts/callgrind.sh); the
# defaults here are BODY=session VARY=last, the benchmark's 41 KB body with a new last message.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/bifrost}; N=${2:-4000}; MODEL=${3:-}; CAP=${4:-false}
export BODY=${BODY:-session} VARY=${VARY:-last}
BENCH=${BENCH:-target/release/examples/bench}
[ -x "$BENCH" ] || cargo build --release --example bench
. scripts/callgrind/setup.sh
w=$(mktemp -d); gw=; MOCK=; trap 'kill $gw $MOCK 2>/dev/null || true; rm -rf "$w"' EXIT
start_mock "$w"; write_config "$w" "$CAP"
port=$((20000 + RANDOM % 20000))
BIFROST_HOME="$w/home" "$BIN" --config "$w/config.toml" serve --port "$port" 2>"$w/gw.log" & gw=$!
wait_health "$port"
taskset -a -p -c 1 "$gw" >/dev/null; taskset -a -p -c 1 "$MOCK" >/dev/null
python3 scripts/callgrind/drive.py "$port" 300 json $MODEL >/dev/null # warm-up
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 0.3; g0=$(ticks "$gw"); m0=$(ticks "$MOCK")
taskset -c 0 python3 scripts/callgrind/drive.py "$port" "$N" json $MODEL >/dev/null
sleep 0.3; g1=$(ticks "$gw"); m1=$(ticks "$MOCK")
hz=$(getconf CLK_TCK)
echo "CPU per request (${MODEL:-passthrough}, capture $CAP, BODY=$BODY VARY=$VARY): gateway $(( (g1 - g0) * 1000000 / hz / N )) µs, mock $(( (m1 - m0) * 1000000 / hz / N )) µs"
