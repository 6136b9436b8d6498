#!/usr/bin/env bash
# CPU per request, counted (not timed): `bifrost serve` under callgrind in front of the bench
# mock, the 17.5 KB Codex turn-1 request sent N times over one keep-alive connection.
# Instructions per request = (total at N − total at 1) / (N − 1); start-up cancels out.
#   scripts/callgrind.sh [BIN] [N] [json|stream] [capture true|false] [MODEL]
# MODEL defaults to the fixture's own (passthrough to OpenAI); anthropic/claude-sonnet-4-5
# measures the translated path. VARY=tools gives every request a new first tool description,
# so that neither the scan memo nor the tools memo finds its tools again; VARY=last a new text
# in the last input item (a turn that adds to its conversation), VARY=first in the first item
# (nothing of the conversation found again); VARY=tools,first is the translated path's worst.
# BODY=session sends the ~41 KB body of scripts/bench.sh instead (earlier turns added).
# BIN defaults to a release build with symbols (see BENCHMARKS.md for the exact flags).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/bifrost}; N=${2:-200}; MODE=${3:-json}; CAP=${4:-true}; MODEL=${5:-}
command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
BENCH=${BENCH:-target/release/examples/bench}
[ -x "$BENCH" ] || cargo build --release --example bench
OUT=target/callgrind; mkdir -p "$OUT"
. scripts/callgrind/setup.sh
one() { # N -> instructions
  local n=$1 w; w=$(mktemp -d "$OUT/w.XXXX")
  start_mock "$w"; write_config "$w" "$CAP"
  local port=$((20000 + RANDOM % 20000))
  BIFROST_HOME="$w/home" valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$n.$MODE.$CAP${MODEL:+.${MODEL%%/*}}" \
    "$BIN" --config "$w/config.toml" serve --port "$port" 2>"$w/vg.log" & local vg=$!
  wait_health "$port"
  python3 scripts/callgrind/drive.py "$port" "$n" "$MODE" $MODEL >&2
  sleep 3 # the upstream clients are built on a helper thread; let both runs finish them
  kill -TERM $vg; wait $vg || true; kill $MOCK || true
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$w/vg.log"
}
base=$(one 1); total=$(one "$N")
echo "instructions per request ($MODE, capture $CAP${MODEL:+, $MODEL}): $(( (total - base) / (N - 1) ))"
echo "profile: callgrind_annotate $OUT/cg.$N.$MODE.$CAP${MODEL:+.${MODEL%%/*}}"
