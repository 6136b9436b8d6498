# Sourced by scripts/callgrind.sh and scripts/cpu.sh: the bench mock, a gateway config that
# points every provider at it, and the wait for a gateway to answer. Needs $BENCH.

# start_mock DIR: starts the mock; sets MOCK (its pid) and MOCK_PORT.
start_mock() {
  "$BENCH" mock --port-file "$1/mock.port" & MOCK=$!
  while [ ! -s "$1/mock.port" ]; do sleep 0.1; done
  MOCK_PORT=$(cat "$1/mock.port"); MOCK_PORT=${MOCK_PORT##*:}
}

# write_config DIR CAPTURE: DIR/config.toml with OpenAI and Anthropic on the mock, the team
# key `team-key`, and capture_bodies = CAPTURE.
write_config() {
  printf '[providers.openai]\nbase_url = "http://127.0.0.1:%s/v1"\napi_key = "sk-bench"\n[providers.anthropic]\nbase_url = "http://127.0.0.1:%s/v1"\napi_key = "sk-bench"\n[server]\nkeys = ["team-key"]\n[logs]\ncapture_bodies = %s\n' "$MOCK_PORT" "$MOCK_PORT" "$2" > "$1/config.toml"
}

# wait_health PORT: until the gateway on PORT answers /health (up to a minute).
wait_health() {
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/health" && return 0; sleep 0.2; done
  return 1
}
