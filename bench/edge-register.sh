#!/usr/bin/env bash
# REGISTER load on the edge: starts the edge (its own process, as `npm run edge`) and a trivial
# drachtio-srf app that answers 200 (bench/edge-register-app.ts), then drives SIPp over UDP at
# increasing rates and reports the highest rate with 0 failed calls and 0 retransmissions.
#
# Usage: bash bench/edge-register.sh [rates...]      (default: 2000 3000 3500 4000 5000 6000 7000 8000 9000)
# Env:   EDGE_LOG_LEVEL (default info), BENCH_SECONDS per rate (default 10), BENCH_RUNS (default 1),
#        BENCH_TRANSPORT u1|t1 (default u1), BENCH_SIP_PORT / BENCH_CONTROL_PORT / BENCH_SIPP_PORT,
#        NODE_GC_FLAGS (V8 flags of the edge, as for npm run edge).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh # NODE_GC_FLAGS default (docs/operations.md)
ROOT="$(pwd)"

RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(2000 3000 3500 4000 5000 6000 7000 8000 9000)
SECONDS_PER_RATE="${BENCH_SECONDS:-10}"
RUNS="${BENCH_RUNS:-1}"
TRANSPORT="${BENCH_TRANSPORT:-u1}"
SIP_PORT="${BENCH_SIP_PORT:-25060}"
CONTROL_PORT="${BENCH_CONTROL_PORT:-29022}"
SIPP_PORT="${BENCH_SIPP_PORT:-26060}"
LEVEL="${EDGE_LOG_LEVEL:-info}"
SECRET="bench-$RANDOM$RANDOM"
WORK="$(mktemp -d)"

command -v sipp >/dev/null || { echo "sipp is not installed" >&2; exit 1; }

# Compile (errors in folders other than edge/ and bench/ must not stop the benchmark).
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo >"$WORK/tsc.log" 2>&1 || true
[ -f dist/edge/main.js ] && [ -f dist/bench/edge-register-app.js ] || { cat "$WORK/tsc.log" >&2; exit 1; }

EDGE_PID=""; APP_PID=""
stop_stack() {
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
  [ -n "$EDGE_PID" ] && kill "$EDGE_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  APP_PID=""; EDGE_PID=""
}
trap stop_stack EXIT

# A fresh edge and app for every rate, warmed up (not counted) so that V8 has optimised the hot path:
# an overloaded step must not leave 32 s of Timer J transactions behind for the next one.
start_stack() {
  SIP_BIND=127.0.0.1 SIP_PORT="$SIP_PORT" DRACHTIO_HOST=127.0.0.1 DRACHTIO_PORT="$CONTROL_PORT" \
    DRACHTIO_SECRET="$SECRET" EDGE_METRICS_PORT=0 EDGE_LOG_LEVEL="$LEVEL" \
    node $NODE_GC_FLAGS dist/edge/main.js >"$WORK/edge.log" 2>&1 &
  EDGE_PID=$!
  for _ in $(seq 50); do grep -q 'control listening' "$WORK/edge.log" && break; sleep 0.1; done
  DRACHTIO_HOST=127.0.0.1 DRACHTIO_PORT="$CONTROL_PORT" DRACHTIO_SECRET="$SECRET" \
    node dist/bench/edge-register-app.js >"$WORK/app.log" 2>&1 &
  APP_PID=$!
  for _ in $(seq 50); do grep -q connected "$WORK/app.log" && break; sleep 0.1; done
  grep -q connected "$WORK/app.log" || { echo "app did not connect" >&2; cat "$WORK/edge.log" "$WORK/app.log" >&2; exit 1; }
  (cd "$WORK" && timeout 60 sipp "127.0.0.1:$SIP_PORT" -sf "$ROOT/sipp-scenarios/edge-register.xml" -t "$TRANSPORT" \
    -i 127.0.0.1 -p "$SIPP_PORT" -r 1000 -m 3000 -timeout 30s -nostdin >"$WORK/sipp-warmup.log" 2>&1) || true
  sleep 1
}

# column NAME FILE: value of the named column in the last line of a SIPp stat CSV.
column() {
  awk -F';' -v name="$1" 'NR==1 { for (i = 1; i <= NF; i++) if ($i == name) c = i } END { print $c }' "$2"
}

echo "edge log level: $LEVEL, transport: $TRANSPORT, ${SECONDS_PER_RATE}s per rate, $RUNS run(s), $(nproc) cores"
declare -A passes=()
for run in $(seq "$RUNS"); do
  for rate in "${RATES[@]}"; do
    start_stack
    stat="$WORK/stat-$run-$rate.csv"
    calls=$((rate * SECONDS_PER_RATE))
    (cd "$WORK" && timeout $((SECONDS_PER_RATE + 60)) sipp "127.0.0.1:$SIP_PORT" \
      -sf "$ROOT/sipp-scenarios/edge-register.xml" -t "$TRANSPORT" -i 127.0.0.1 -p "$SIPP_PORT" \
      -r "$rate" -rp 1000 -m "$calls" -buff_size 4194304 -timeout $((SECONDS_PER_RATE + 30))s -nostdin \
      -trace_stat -stf "$stat" -fd 1 >"$WORK/sipp-$run-$rate.log" 2>&1) || true
    ok=$(column 'SuccessfulCall(C)' "$stat"); failed=$(column 'FailedCall(C)' "$stat")
    retrans=$(column 'Retransmissions(C)' "$stat"); elapsed=$(column 'ElapsedTime(C)' "$stat")
    verdict=FAIL
    if [ "${ok:-0}" = "$calls" ] && [ "${failed:-1}" = 0 ] && [ "${retrans:-1}" = 0 ]; then
      verdict=PASS
      passes[$rate]=$(( ${passes[$rate]:-0} + 1 ))
    fi
    echo "run $run rate $rate/s: $ok/$calls ok, $failed failed, $retrans retransmissions, elapsed $elapsed -> $verdict"
    stop_stack
  done
done
# Sustained: the highest rate that passed in every run, with every lower rate passing in every run too.
sustained=0; best=0; broken=0
for rate in "${RATES[@]}"; do
  n=${passes[$rate]:-0}
  [ "$n" -gt 0 ] && [ "$rate" -gt "$best" ] && best=$rate
  if [ "$broken" = 0 ] && [ "$n" -eq "$RUNS" ]; then sustained=$rate; else broken=1; fi
done
echo "highest rate with 0 failed calls and 0 retransmissions in every run: $sustained REGISTER/s (best single run: $best REGISTER/s)"
