#!/usr/bin/env bash
# Starts (or checks) the PostgreSQL and Redis servers the team-mode tests use, on loopback.
# `scripts/services.sh start` is idempotent: a running server is left alone.
# PostgreSQL: the Debian cluster (pg_ctlcluster), role `bifrost` (password `bifrost`, CREATEDB),
# listening on 127.0.0.1:5432. Redis: 127.0.0.1:6379, no persistence.
set -euo pipefail
cmd="${1:-start}"
[ "$cmd" = start ] || { echo "usage: scripts/services.sh start" >&2; exit 2; }

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

# PostgreSQL: the newest installed cluster; create one if the package made none.
ver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $1}' | grep -qx "$ver"; then
  $SUDO pg_createcluster "$ver" main -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
fi
cluster="$(pg_lsclusters -h | awk -v v="$ver" '$1==v {print $2; exit}')"
if ! pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$ver" "$cluster" start
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
if ! as_pg "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='bifrost'\"" | grep -q 1; then
  as_pg "psql -q -c \"CREATE ROLE bifrost LOGIN SUPERUSER PASSWORD 'bifrost'\""
fi

# Redis: loopback only, no snapshots, daemonised.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
redis-cli -h 127.0.0.1 -p 6379 ping
