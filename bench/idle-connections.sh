#!/usr/bin/env bash
# Memory held per idle TCP and per idle TLS connection by the edge, and Redis memory per RFC 5626
# phone: for each transport, a fresh edge and registrar (default settings but ports and connection
# limits) over a private Redis; IDLE_PHONES phones connect, register with Digest as RFC 5626
# phones (bench/idle-connections.ts) and stay connected and silent. One JSON line per transport.
#
# Usage: bash bench/idle-connections.sh
# Env:   IDLE_PHONES (default 10000), IDLE_TRANSPORTS (default "tcp tls"),
#        BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sipreg_bench)
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # the edge holds a socket per phone, and so do the phones
source scripts/services.sh # NODE_GC_FLAGS default
DB_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sipreg_bench}"
PHONES="${IDLE_PHONES:-10000}"
DOMAIN="idle.bench.example"
WORK=$(mktemp -d /tmp/idle-bench.XXXXXX)
source bench/lib.sh # PIDS, cleanup on exit, free_port, wait_port, make_cert
seed_devices idle "$DOMAIN" 1 "$PHONES"
make_cert "$WORK"

status=0
for tr in ${IDLE_TRANSPORTS:-tcp tls}; do
  REDIS_PORT=$(free_port); SIP_PORT=$(free_port); TLS_PORT=$(free_port); CTRL_PORT=$(free_port); HTTP_PORT=$(free_port)
  SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  STARTED=()
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & PIDS+=($!); STARTED+=($!)
  wait_port "$REDIS_PORT"
  export DATABASE_URL="$DB_URL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" REDIS_KEY_PREFIX="idle:" LOG_LEVEL=warn \
    DRACHTIO_HOST=127.0.0.1 DRACHTIO_PORT="$CTRL_PORT" DRACHTIO_SECRET="$SECRET" SIP_DEFAULT_DOMAIN="$DOMAIN"
  # Every phone here comes from 127.0.0.1: both connection limits raised above the phones.
  SIP_MAX_CONNECTIONS=$((PHONES + 1000)) SIP_MAX_CONNECTIONS_PER_SOURCE=$((PHONES + 1000)) \
  SIP_BIND=127.0.0.1 SIP_PORT="$SIP_PORT" SIP_TLS_PORT="$TLS_PORT" SIP_TLS_CERT="$WORK/cert.pem" SIP_TLS_KEY="$WORK/key.pem" \
    EDGE_METRICS_PORT="$(free_port)" EDGE_LOG_LEVEL=warn node $NODE_GC_FLAGS dist/edge/main.js > "$WORK/edge-$tr.log" 2>&1 & PIDS+=($!); STARTED+=($!); EDGE_PID=$!
  wait_port "$CTRL_PORT"
  REGISTRAR_HTTP_PORT="$HTTP_PORT" REGISTRAR_NONCE_SECRET="idle-nonce-secret-0123456789abcdef" REGISTRAR_MD5_ONLY=true \
    REGISTRAR_BLOCK_SOURCE_THRESHOLD=1000000 REGISTRAR_BLOCK_USER_THRESHOLD=1000000 \
    node $NODE_GC_FLAGS dist/registrar/main.js > "$WORK/registrar-$tr.log" 2>&1 & PIDS+=($!); STARTED+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null && break; sleep 0.1; done
  port=$SIP_PORT; [ "$tr" = tls ] && port=$TLS_PORT
  IDLE_TRANSPORT="$tr" IDLE_PORT="$port" IDLE_DOMAIN="$DOMAIN" IDLE_PHONES="$PHONES" IDLE_EDGE_PID="$EDGE_PID" \
    IDLE_REDIS_PORT="$REDIS_PORT" IDLE_REDIS_PREFIX="idle:" node dist/bench/idle-connections.js || status=$?
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
done
exit $status
