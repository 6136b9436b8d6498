#!/usr/bin/env bash
# Load test: REQUESTS (default 1000) concurrent streaming requests through `bifrost serve` to
# the mock upstream in examples/load.rs. Fails unless there are zero errors and the store has
# one row per request. Then a second wave with SIGTERM sent to `bifrost serve` mid-way: every
# request that completed must have its row, and serve must exit 0. Prints peak RSS (VmHWM).
# Bounded: every request has a 120 s deadline and serve drains for at most 10 s.
# Usage: scripts/load.sh [REQUESTS]     (PROFILE=dev for a debug build; default release)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
PROFILE="${PROFILE:-release}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --quiet --profile "$PROFILE" --bin bifrost --example load
DIR=target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
BIFROST="$PWD/$DIR/bifrost"; LOAD="$PWD/$DIR/examples/load"
WORK=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
export BIFROST_HOME="$WORK/home" BIFROST_CONFIG="$WORK/config.toml"
unset OPENAI_API_KEY OPENAI_BASE_URL BIFROST_LOG || true

wait_line() { # file pattern
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}
rows() { "$BIFROST" logs --json --limit 0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
start_serve() {
  "$BIFROST" serve --port 0 2>"$WORK/serve.err" >/dev/null & SERVE=$!; PIDS+=("$SERVE")
  wait_line "$WORK/serve.err" "listening on"
  URL=$(grep -o 'http://[^ ]*/openai/v1' "$WORK/serve.err" | head -1)
}

"$LOAD" mock "${MOCK_DELAY_MS:-20}" >"$WORK/mock.out" & PIDS+=($!)
wait_line "$WORK/mock.out" "mock listening"
MOCK=$(grep -o 'http://[^ ]*' "$WORK/mock.out")
cat >"$BIFROST_CONFIG" <<TOML
[server]
keys = ["bfs_load_key"]
[providers.openai]
base_url = "$MOCK"
api_key = "sk-load-test-key"
TOML

echo "== wave 1: $N concurrent streaming requests"
start_serve
"$LOAD" run "$URL" bfs_load_key "$N" "$N" | tee "$WORK/wave1.json"
RSS=$(awk '/VmHWM/ {print $2, $3}' "/proc/$SERVE/status")
kill -TERM "$SERVE"; wait "$SERVE" && CODE1=0 || CODE1=$?
R1=$(rows)
echo "rows: $R1  serve exit: $CODE1  peak RSS (VmHWM): $RSS"
python3 - "$WORK/wave1.json" "$N" "$R1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); rows = int(sys.argv[3])
assert r["errors"] == 0 and r["ok"] == n, f"errors: {r}"
assert rows == n, f"{rows} rows for {n} requests"
PY

echo "== wave 2: $N requests (slow upstream), SIGTERM to serve mid-way"
"$LOAD" mock 200 >"$WORK/mock2.out" & PIDS+=($!)
wait_line "$WORK/mock2.out" "mock listening"
MOCK2=$(grep -o 'http://[^ ]*' "$WORK/mock2.out")
sed -i "s#$MOCK#$MOCK2#" "$BIFROST_CONFIG"
start_serve
"$LOAD" run "$URL" bfs_load_key "$N" "$N" "$WORK/ids" >"$WORK/wave2.json" & LOADPID=$!
sleep 1
kill -TERM "$SERVE"; wait "$SERVE" && CODE2=0 || CODE2=$?
wait "$LOADPID" || true
cat "$WORK/wave2.json"
R2=$(( $(rows) - R1 ))
MISSING=$("$BIFROST" logs --json --limit 0 | python3 -c '
import json,sys; have={r["id"] for r in json.load(sys.stdin)}
ids=[l for l in open(sys.argv[1]).read().split() if l]
print(sum(1 for i in ids if i not in have))' "$WORK/ids")
echo "serve exit after SIGTERM: $CODE2  rows: $R2  completed requests without a row: $MISSING"
[ "$CODE2" -eq 0 ] && [ "$MISSING" -eq 0 ] && [ "$CODE1" -eq 0 ]
echo "load: ok"
