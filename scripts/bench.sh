#!/usr/bin/env bash
# Benchmarks (see BENCHMARKS.md): mock upstream, bare hyper floor, the gateway and, when
# installed, the Portkey gateway, in one interleaved run; then the criterion microbenchmarks.
#
#   scripts/bench.sh            full run: release build, macro benchmarks, report in target/bench-work/report.md
#   scripts/bench.sh --smoke    < 1 min after a debug build: every scenario with tiny counts; checks the
#                               tooling works (zero errors, all streams open), not timings
#   scripts/bench.sh --micro    criterion microbenchmarks only (cargo bench --bench codec)
#   scripts/bench.sh --no-peer  full run without Portkey
#   scripts/bench.sh --only-latency   the pinned latency tables alone (~2 min), for iterating
#   scripts/bench.sh --only-memory    memory at 1,000 streams alone
#   scripts/bench.sh --only-throughput   the throughput sweep alone (~1 min), for iterating
#   BIFROST_BASELINE=path/to/older/bifrost scripts/bench.sh   adds that binary as "before optimisation"
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full PEER=1
ONLY=()
for a in "$@"; do
  case "$a" in
    --smoke) MODE=smoke ;;
    --micro) MODE=micro ;;
    --no-peer) PEER=0 ;;
    --only-latency) ONLY=(--only latency) ;;
    --only-memory) ONLY=(--only memory) ;;
    --only-throughput) ONLY=(--only throughput) ;;
    *) echo "usage: scripts/bench.sh [--smoke|--micro] [--no-peer] [--only-latency|--only-memory|--only-throughput]" >&2; exit 2 ;;
  esac
done

if [ "$MODE" = micro ]; then
  exec cargo bench --bench codec
fi

# 1,000 concurrent streams need ~3 descriptors each across the processes.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The peer: Portkey's open-source gateway from npm, @hono/node-server pinned by bench/peer/package.json.
PEER_ARGS=()
if [ "$PEER" = 1 ] && [ "$MODE" = full ]; then
  if [ ! -f bench/peer/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
    (cd bench/peer && npm install --no-audit --no-fund --loglevel=error) || echo "bench: Portkey could not be installed; running without the peer" >&2
  fi
fi
if [ "$PEER" = 1 ] && [ -f bench/peer/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
  PEER_ARGS=(--peer bench/peer/node_modules/@portkey-ai/gateway)
fi

if [ "$MODE" = smoke ]; then
  cargo build --quiet --bin bifrost --example bench
  DIR=target/debug
  EXTRA=(--smoke)
else
  cargo build --release --bin bifrost --example bench
  DIR=target/release
  EXTRA=()
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
fi
BASE_ARGS=()
if [ -n "${BIFROST_BASELINE:-}" ]; then BASE_ARGS=(--baseline "$BIFROST_BASELINE"); fi
exec "$DIR/examples/bench" run --bifrost "$DIR/bifrost" --work "target/bench-work${EXTRA:+-smoke}" "${PEER_ARGS[@]}" "${BASE_ARGS[@]}" "${ONLY[@]}" "${EXTRA[@]}"
