#!/usr/bin/env bash
# Re-registration storm: edge, registrar and API (their own processes, default settings but
# ports) over a private Redis and the bench database; every device registers, Redis loses
# everything (FLUSHALL on that private Redis), then all devices re-register at once, offered at
# STORM_RATE (default 6000/s: twice the highest clean rate in docs/benchmarks.md). Prints one
# JSON line: how long until all are registered again, the answers (503s shed), retransmissions,
# the API's latency during the storm, peak RSS per process, and any process that died.
#
# Usage: bash bench/storm.sh
# Env:   STORM_DEVICES (default 10000), STORM_RATE (default 6000), STORM_WARM_RATE (default 1000),
#        STORM_CAP_S (default 300), BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sipreg_bench),
#        REGISTRAR_MAX_IN_FLIGHT / REGISTRAR_RETRY_AFTER_S (passed to the registrar when set).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh # NODE_GC_FLAGS default
DB_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sipreg_bench}"
DEVICES="${STORM_DEVICES:-10000}"
DOMAIN="storm.bench.example"
WORK=$(mktemp -d /tmp/storm-bench.XXXXXX)
source bench/lib.sh # PIDS, cleanup on exit, free_port, wait_port
seed_devices storm "$DOMAIN" 0 $((DEVICES - 1))

REDIS_PORT=$(free_port); SIP_PORT=$(free_port); CTRL_PORT=$(free_port); HTTP_PORT=$(free_port); API_PORT=$(free_port)
SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
API_KEY="storm-admin-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & PIDS+=($!); REDIS_PID=$!
wait_port "$REDIS_PORT"
export DATABASE_URL="$DB_URL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" REDIS_KEY_PREFIX="storm:" LOG_LEVEL=warn \
  DRACHTIO_HOST=127.0.0.1 DRACHTIO_PORT="$CTRL_PORT" DRACHTIO_SECRET="$SECRET" SIP_DEFAULT_DOMAIN="$DOMAIN" DATA_DIR="$WORK/data"
SIP_BIND=127.0.0.1 SIP_PORT="$SIP_PORT" SIP_TLS_PORT=0 EDGE_METRICS_PORT="$(free_port)" EDGE_LOG_LEVEL=warn \
  node $NODE_GC_FLAGS dist/edge/main.js > "$WORK/edge.log" 2>&1 & PIDS+=($!); EDGE_PID=$!
wait_port "$CTRL_PORT"
REGISTRAR_HTTP_PORT="$HTTP_PORT" REGISTRAR_NONCE_SECRET="storm-nonce-secret-0123456789abcdef" \
  REGISTRAR_BLOCK_SOURCE_THRESHOLD=1000000 REGISTRAR_BLOCK_USER_THRESHOLD=1000000 \
  node $NODE_GC_FLAGS dist/registrar/main.js > "$WORK/registrar.log" 2>&1 & PIDS+=($!); REG_PID=$!
API_PORT="$API_PORT" API_HOST=127.0.0.1 API_METRICS_PORT="$(free_port)" ADMIN_API_KEY="$API_KEY" \
  node $NODE_GC_FLAGS dist/api/main.js > "$WORK/api.log" 2>&1 & PIDS+=($!); API_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$API_PORT/readyz" >/dev/null && break; sleep 0.1; done

status=0
STORM_SIP_PORT="$SIP_PORT" STORM_REDIS_PORT="$REDIS_PORT" STORM_API_URL="http://127.0.0.1:$API_PORT" STORM_API_KEY="$API_KEY" \
  STORM_DOMAIN="$DOMAIN" STORM_DEVICES="$DEVICES" STORM_PIDS="edge=$EDGE_PID,registrar=$REG_PID,api=$API_PID,redis=$REDIS_PID" \
  node dist/bench/storm.js || status=$?
grep -h '"level":50' "$WORK"/*.log | head -5 >&2 || true
exit $status
