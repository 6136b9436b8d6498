#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60) and prints executions and crashes
# per target. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Crashes are kept under fuzz/artifacts/<target>/; corpora under fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
TARGETS=$(cargo +nightly fuzz list --fuzz-dir fuzz)
cargo +nightly fuzz build --fuzz-dir fuzz -O
status=0
printf '%-20s %12s %8s\n' target executions crashes
for t in $TARGETS; do
  log="fuzz/logs/$t.log"
  mkdir -p fuzz/logs "fuzz/corpus/$t"
  if cargo +nightly fuzz run --fuzz-dir fuzz -O "$t" -- -max_total_time="$SECONDS_EACH" \
       -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    crashes=0
  else
    crashes=$(ls "fuzz/artifacts/$t" 2>/dev/null | wc -l)
    [ "$crashes" -eq 0 ] && crashes="error(see $log)"
    status=1
  fi
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  printf '%-20s %12s %8s\n' "$t" "${execs:-?}" "$crashes"
done
exit "$status"
