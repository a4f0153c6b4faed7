#!/usr/bin/env bash
# Registrar benchmark: full digest registrations (REGISTER, 401, REGISTER, 200) over
# 10,000 seeded devices through edge + registrar, at increasing SIPp rates.
# Prints Redis memory per binding, then per rate: successful/failed calls, retransmissions,
# p50/p99 of the whole registration (first REGISTER to 200) from SIPp and from the latency
# probe, CPU per registration of registrar, edge, Redis and PostgreSQL (every postgres process
# of the machine: run nothing else against it meanwhile), the events each step wrote, and a
# machine-speed calibration.
#
# Usage: bash bench/registrar-sweep.sh [rates...]   (default: 500 1000 2000 3000 4000 5000 6000 7000)
# Env:   BENCH_SECONDS (per step, default 10), BENCH_DEVICES (default 10000),
#        BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sipreg_bench),
#        BENCH_EDGE_NODE_ARGS / BENCH_REGISTRAR_NODE_ARGS (extra node flags, e.g. --trace-gc),
#        NODE_GC_FLAGS (V8 flags for edge and registrar, as for npm start: unset means
#        --heap-growing-percent=300, empty means V8's defaults),
#        BENCH_EVENT_PROBE=1 (also run the API and time, in every step, registrations of one more device
#        from their 200 to their event on the account's SSE stream: columns event_p50_ms event_p99_ms),
#        BENCH_MEMORY_STEP (1, default: first register every device at 1,000/s and report Redis
#        memory per device; 0: go straight to the sweep),
#        BENCH_ENGINE (edge, default; embedded: edge and registrar in one process, dist/embedded/main.js,
#        whose CPU shows in the registrar column; drachtio: drachtio-server from DRACHTIO_SERVER_BIN, TCP and UDP),
#        BENCH_APP (registrar, default; trivial: bench/edge-register-app.ts answering 401 then 200
#        with no checks, the engine's own share of a registration),
#        BENCH_TRANSPORT (u1 UDP, default; tn TCP with one connection per call; tls: SIPp's tn
#        through socat, which carries each connection over its own TLS connection to the edge),
#        BENCH_ROUTINE_EVENTS=all (REGISTRAR_ROUTINE_EVENTS: every refresh is an event; default changes),
#        BENCH_TAIL_ATTRIBUTION=1 (log GC pauses and stalls of edge and registrar, bench/gc-log.ts, and
#        match them against the probe's registrations over 10 ms, bench/tail-attribution.ts)
# Uses its own redis-server on a free port and its own database; kills only the PIDs it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # TCP sweeps hold a socket per call

RATES=("$@"); [ ${#RATES[@]} -eq 0 ] && RATES=(500 1000 2000 3000 4000 5000 6000 7000)
SECONDS_PER_STEP="${BENCH_SECONDS:-10}"
DEVICES="${BENCH_DEVICES:-10000}"
DB_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sipreg_bench}"
DOMAIN=bench.example
WORK=$(mktemp -d /tmp/registrar-bench.XXXXXX)
source bench/lib.sh # PIDS, cleanup on exit, free_port, wait_port

source scripts/services.sh # NODE_GC_FLAGS default
TAIL=0; [ "${BENCH_TAIL_ATTRIBUTION:-0}" = 1 ] && TAIL=1
TAIL_ARGS=""
if [ "$TAIL" = 1 ]; then TAIL_ARGS="-r ./dist/bench/gc-log.js"; export GC_LOG_DIR="$WORK"; fi
echo "== GC flags: ${NODE_GC_FLAGS:-V8 defaults}" >&2
seed_devices bench "$DOMAIN" 1 "$DEVICES" # the migration creates the database when missing
psql "$DB_URL" -q <<SQL
INSERT INTO devices (id, account_id, name, sip_username, sip_domain, password_enc, ha1_md5, ha1_sha256)
VALUES ('dev_sip_bench_probe', 'acc_bench', 'latency probe', 'probe', '$DOMAIN', 'bench:not:encrypted:x',
        md5('probe:$DOMAIN:probe-pw'), encode(sha256(convert_to('probe:$DOMAIN:probe-pw', 'UTF8')), 'hex')),
       ('dev_sip_bench_events', 'acc_bench', 'event probe', 'evprobe', '$DOMAIN', 'bench:not:encrypted:x',
        md5('evprobe:$DOMAIN:evprobe-pw'), encode(sha256(convert_to('evprobe:$DOMAIN:evprobe-pw', 'UTF8')), 'hex'));
SQL
{ echo SEQUENTIAL; for i in $(seq 1 "$DEVICES"); do echo "u$i;pw$i;$DOMAIN;[authentication username=u$i password=pw$i]"; done; } > "$WORK/users.csv"

REDIS_PORT=$(free_port); SIP_PORT=$(free_port); CTRL_PORT=$(free_port); HTTP_PORT=$(free_port); METRICS_PORT=$(free_port)
TRANSPORT="${BENCH_TRANSPORT:-u1}"; SIPP_T="$TRANSPORT"; SIPP_TARGET_PORT="$SIP_PORT"; TLS_PORT=0
case "$TRANSPORT" in
  u1) ;;
  tn) limit_time_wait ;;
  tls) limit_time_wait; SIPP_T=tn; TLS_PORT=$(free_port); SIPP_TARGET_PORT=$(free_port); make_cert "$WORK"
       export SIP_TLS_CERT="$WORK/cert.pem" SIP_TLS_KEY="$WORK/key.pem" ;;
  *) echo "BENCH_TRANSPORT must be u1, tn or tls" >&2; exit 1 ;;
esac
SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & PIDS+=($!)
wait_port "$REDIS_PORT"
export DATABASE_URL="$DB_URL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" REDIS_KEY_PREFIX="bench:" LOG_LEVEL=warn \
  DRACHTIO_HOST=127.0.0.1 DRACHTIO_PORT="$CTRL_PORT" DRACHTIO_SECRET="$SECRET" SIP_DEFAULT_DOMAIN="$DOMAIN"
ENGINE="${BENCH_ENGINE:-edge}"; APP="${BENCH_APP:-registrar}"
if [ "$ENGINE" = drachtio ]; then
  [ -x "${DRACHTIO_SERVER_BIN:-}" ] || { echo "BENCH_ENGINE=drachtio needs DRACHTIO_SERVER_BIN (a drachtio-server binary)" >&2; exit 1; }
  [ "$TRANSPORT" = tls ] && { echo "BENCH_ENGINE=drachtio: no TLS in this sweep" >&2; exit 1; }
  cat > "$WORK/drachtio.xml" <<XML
<drachtio>
  <admin port="$CTRL_PORT" secret="$SECRET">127.0.0.1</admin>
  <sip><contacts><contact>sip:127.0.0.1:$SIP_PORT;transport=udp,tcp</contact></contacts></sip>
  <cdrs>false</cdrs>
  <logging><console/><loglevel>notice</loglevel><sofia-loglevel>1</sofia-loglevel></logging>
</drachtio>
XML
  # drachtio-server lets DRACHTIO_* variables of its environment win over its file.
  env -u DRACHTIO_SECRET -u DRACHTIO_PORT -u DRACHTIO_HOST "$DRACHTIO_SERVER_BIN" -f "$WORK/drachtio.xml" > "$WORK/edge.log" 2>&1 & PIDS+=($!); EDGE_PID=$!
else
# Every SIPp phone comes from 127.0.0.1: the per-source connection limit (meant for one real
# address) would cap a TCP sweep, so it is raised here to the machine's file limit.
export SIP_MAX_CONNECTIONS=18000 SIP_MAX_CONNECTIONS_PER_SOURCE=18000 \
  SIP_BIND=127.0.0.1 SIP_PORT="$SIP_PORT" SIP_TLS_PORT="$TLS_PORT" EDGE_METRICS_PORT="$METRICS_PORT" EDGE_LOG_LEVEL=warn
fi
REGISTRAR_ENV=(REGISTRAR_HTTP_PORT="$HTTP_PORT" REGISTRAR_ROUTINE_EVENTS="${BENCH_ROUTINE_EVENTS:-changes}" REGISTRAR_MD5_ONLY=true
  REGISTRAR_NONCE_SECRET="bench-nonce-secret-0123456789" REGISTRAR_BLOCK_SOURCE_THRESHOLD=1000000 REGISTRAR_BLOCK_USER_THRESHOLD=1000000)
if [ "$ENGINE" = embedded ]; then
  # Edge and registrar in one process (embedded/main.ts): its CPU is all in the registrar column.
  [ "$APP" = trivial ] && { echo "BENCH_ENGINE=embedded runs the registrar only" >&2; exit 1; }
  env "${REGISTRAR_ENV[@]}" node $NODE_GC_FLAGS $TAIL_ARGS ${BENCH_REGISTRAR_NODE_ARGS:-} dist/embedded/main.js > "$WORK/registrar.log" 2>&1 & PIDS+=($!); REG_PID=$!; EDGE_PID=
elif [ "$ENGINE" = edge ]; then
  node $NODE_GC_FLAGS $TAIL_ARGS ${BENCH_EDGE_NODE_ARGS:-} dist/edge/main.js > "$WORK/edge.log" 2>&1 & PIDS+=($!); EDGE_PID=$!
fi
[ "$ENGINE" = embedded ] || wait_port "$CTRL_PORT"
[ "$TRANSPORT" = tls ] && tls_front "$SIPP_TARGET_PORT" "$TLS_PORT"
if [ "$APP" = trivial ]; then
  BENCH_APP_CHALLENGE=1 node $NODE_GC_FLAGS dist/bench/edge-register-app.js > "$WORK/registrar.log" 2>&1 & PIDS+=($!); REG_PID=$!
  for _ in $(seq 1 100); do grep -q connected "$WORK/registrar.log" && break; sleep 0.1; done
  grep -q connected "$WORK/registrar.log" || { echo "trivial app not connected" >&2; cat "$WORK/registrar.log" >&2; exit 1; }
else
[ "$ENGINE" = embedded ] || { env "${REGISTRAR_ENV[@]}" node $NODE_GC_FLAGS $TAIL_ARGS ${BENCH_REGISTRAR_NODE_ARGS:-} dist/registrar/main.js > "$WORK/registrar.log" 2>&1 & PIDS+=($!); REG_PID=$!; }
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || { echo "registrar not ready" >&2; cat "$WORK/registrar.log" >&2; exit 1; }
fi

EVENT_PROBE=0; [ "${BENCH_EVENT_PROBE:-0}" = 1 ] && EVENT_PROBE=1
API_KEY="bench-admin-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
if [ "$EVENT_PROBE" = 1 ]; then
  API_PORT=$(free_port)
  API_PORT="$API_PORT" API_HOST=127.0.0.1 API_METRICS_PORT="$(free_port)" ADMIN_API_KEY="$API_KEY" DATA_DIR="$WORK/data" \
    node $NODE_GC_FLAGS dist/api/main.js > "$WORK/api.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$API_PORT/readyz" >/dev/null && break; sleep 0.1; done
fi

redis_mem() { redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }

# CPU ticks of a process; 0 for an empty PID (the embedded engine has no separate edge).
cpu_ticks() { if [ -n "$1" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }
HZ=$(getconf CLK_TCK)
# CPU of every PostgreSQL process (the server and its backends): `pg_ticks` lists "pid ticks",
# `pg_cpu_delta_us` sums the growth between two lists (a backend new in the second counts whole;
# one that ended in between is left out rather than counted negative).
pg_ticks() { local p; for p in $(pgrep -x postgres); do echo "$p $(cpu_ticks "$p" 2>/dev/null || echo 0)"; done; }
pg_cpu_delta_us() { awk -v hz="$HZ" 'NR==FNR {t0[$1]=$2; next} {d += $2 - ($1 in t0 ? t0[$1] : 0)} END {printf "%d\n", d * 1000000 / hz}' <(echo "$1") <(echo "$2"); }
events_count() { psql "$DB_URL" -tAq -c "SELECT count(*) FROM events WHERE account_id = 'acc_bench'"; }
redis_cpu_us() { redis-cli -p "$REDIS_PORT" info cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%d\n", s * 1000000}'; }

# Waits (at most 5 s) until edge and registrar use under 10 % of a core over 200 ms, so that
# a step's calibration and CPU figures do not include the previous step's backlog.
wait_quiet() {
  for _ in $(seq 1 25); do
    local a b; a=$(( $(cpu_ticks "$REG_PID") + $(cpu_ticks "$EDGE_PID") )); sleep 0.2
    b=$(( $(cpu_ticks "$REG_PID") + $(cpu_ticks "$EDGE_PID") ))
    [ $(( (b - a) * 100 / HZ )) -lt 2 ] && return 0
  done
}

# One SIPp step; prints "rate ok failed retrans p50 p99 probe_p50 probe_p99 registrar_cpu_us_per_reg edge_cpu_us_per_reg probe_over_10ms_% redis_cpu_us_per_reg calibration_ms pg_cpu_us_per_reg events_written".
run_step() {
  local rate=$1 calls=$2 tag=$3
  wait_quiet
  local calib; calib=$(calibrate_ms)
  local r0 e0 d0 g0 n0; r0=$(cpu_ticks "$REG_PID"); e0=$(cpu_ticks "$EDGE_PID"); d0=$(redis_cpu_us); g0=$(pg_ticks); n0=$(events_count)
  local dir="$WORK/$tag"; mkdir -p "$dir"
  # The probe times registrations precisely while SIPp loads (SIPp's own times move in kernel ticks).
  local probe_secs=$(( calls / rate > 3 ? calls / rate - 2 : 1 ))
  PROBE_SAMPLES_FILE="$([ "$TAIL" = 1 ] && echo "$dir/probe.samples")" node dist/bench/latency-probe.js "$SIP_PORT" probe probe-pw "$DOMAIN" "$probe_secs" 50 > "$dir/probe.txt" 2>&1 &
  local probe_pid=$!
  local event_pid=""
  if [ "$EVENT_PROBE" = 1 ]; then
    node dist/bench/event-latency.js "$SIP_PORT" evprobe evprobe-pw "$DOMAIN" "http://127.0.0.1:$API_PORT" "$API_KEY" acc_bench "$probe_secs" 5 > "$dir/events.txt" 2>&1 &
    event_pid=$!
  fi
  ( cd "$dir" && sipp "127.0.0.1:$SIPP_TARGET_PORT" -sf "$OLDPWD/sipp-scenarios/register-bench.xml" -inf "$WORK/users.csv" \
      -auth_uri "$DOMAIN" -i 127.0.0.1 -p "$(free_port)" -t "$SIPP_T" -r "$rate" -m "$calls" -l $((rate * 2)) -buff_size 4194304 -max_socket 15000 \
      -timeout $((SECONDS_PER_STEP * 3 + 20))s -timeout_error -nostdin -max_recv_loops 10000 -max_sched_loops 10000 \
      -trace_err -error_file "$dir/errors.log" -trace_stat -stf "$dir/stat.csv" -fd 1 \
      -trace_rtt -rtt_freq 1 >/dev/null 2>&1 ) || true
  local stat="$dir/stat.csv"
  local ok failed retrans
  # A cumulative column of SIPp's statistics file, as of its last line.
  col() { awk -F';' -v name="$1" 'NR==1 {for (i=1;i<=NF;i++) if ($i==name) c=i} {v=$c} END {print v+0}' "$stat"; }
  ok=$(col 'SuccessfulCall(C)'); failed=$(col 'FailedCall(C)'); retrans=$(col 'Retransmissions(C)')
  local rtt; rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
  local p50=NA p99=NA
  if [ -n "$rtt" ]; then
    read -r p50 p99 < <(awk -F';' 'NR>1 && $2!="" {print $2}' "$rtt" | sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "NA NA"; exit} i50=int(NR*0.50); if(i50<1)i50=1; i99=int(NR*0.99); if(i99<1)i99=1; printf "%.2f %.2f\n", a[i50], a[i99]}')
  fi
  local r1 e1 d1 g1; r1=$(cpu_ticks "$REG_PID"); e1=$(cpu_ticks "$EDGE_PID"); d1=$(redis_cpu_us); g1=$(pg_ticks)
  wait "$probe_pid" 2>/dev/null || true
  [ -n "$event_pid" ] && { wait "$event_pid" 2>/dev/null || true; }
  probe_field() { grep -oE "$1=[^ ]+" "$dir/probe.txt" | cut -d= -f2; }
  local pp50 pp99 pover; pp50=$(probe_field p50_ms); pp99=$(probe_field p99_ms); pover=$(probe_field over_10ms_pct)
  if [ "$TAIL" = 1 ]; then
    sleep 1 # the GC logs are flushed every 500 ms
    node dist/bench/tail-attribution.js "$dir/probe.samples" "$WORK"/*.gc > "$dir/tail.txt" 2>&1 || true
    echo "$rate/s $(grep '^attribution:' "$dir/tail.txt")" >&2
  fi
  # CPU is shared out over every registration of the step: SIPp's and the probe's (50/s).
  local pn plost; pn=$(probe_field n); plost=$(probe_field lost)
  local regs=$(( ok + ${pn:-0} + ${plost:-0} )); local den=$(( regs > 0 ? regs : 1 ))
  sleep 0.5 # the registrar writes events within REGISTRAR_EVENT_FLUSH_MS
  local n1; n1=$(events_count)
  local ev=""
  [ "$EVENT_PROBE" = 1 ] && ev=" $(grep -oE 'p50_ms=[^ ]+' "$dir/events.txt" | cut -d= -f2 || echo NA) $(grep -oE 'p99_ms=[^ ]+' "$dir/events.txt" | cut -d= -f2 || echo NA)"
  echo "$rate $ok $failed $retrans $p50 $p99 ${pp50:-NA} ${pp99:-NA} $(( (r1 - r0) * 1000000 / HZ / den )) $(( (e1 - e0) * 1000000 / HZ / den )) ${pover:-NA} $(( (d1 - d0) / den )) $calib $(( $(pg_cpu_delta_us "$g0" "$g1") / den )) $(( n1 - n0 ))$ev"
}

if [ "${BENCH_MEMORY_STEP:-1}" = 1 ]; then
  echo "== memory: $DEVICES registrations at 1000/s into an empty Redis" >&2
  MEM0=$(redis_mem)
  read -r _ OK0 FAIL0 RETR0 _ < <(run_step 1000 "$DEVICES" mem)
  MEM1=$(redis_mem)
  DEVS=$(redis-cli -p "$REDIS_PORT" zcard bench:exp)
  SAMPLE_B=$(redis-cli -p "$REDIS_PORT" memory usage "bench:{dev_sip_bench1}:b")
  SAMPLE_S=$(redis-cli -p "$REDIS_PORT" memory usage "bench:{dev_sip_bench1}:s")
  SAMPLE_N=$(redis-cli -p "$REDIS_PORT" memory usage "bench:{dev_sip_bench1}:n")
  echo "memory: $OK0 ok / $FAIL0 failed; registered devices $DEVS; used_memory delta $((MEM1 - MEM0)) B = $(( (MEM1 - MEM0) / (DEVS > 0 ? DEVS : 1) )) B per binding (all keys: bindings, status, index, nonce counts)"
  echo "memory: one device: bindings hash $SAMPLE_B B + status hash $SAMPLE_S B + nonce-count hash $SAMPLE_N B (expires after the nonce lifetime)"
  # Steady state of a registered device: its nonce-count hash gone (it expires a nonce lifetime
  # after the last authentication).
  redis-cli -p "$REDIS_PORT" --scan --pattern 'bench:{*}:n' | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" del >/dev/null
  MEM2=$(redis_mem)
  echo "memory: steady state $(( (MEM2 - MEM0) / (DEVS > 0 ? DEVS : 1) )) B per registered device with one binding (nonce-count hashes expired)"
fi

echo "== sweep (${SECONDS_PER_STEP}s per rate)" >&2
echo "rate ok failed retransmissions sipp_p50_ms sipp_p99_ms probe_p50_ms probe_p99_ms registrar_cpu_us/reg edge_cpu_us/reg probe_over_10ms_% redis_cpu_us/reg calibration_ms pg_cpu_us/reg events$([ "$EVENT_PROBE" = 1 ] && echo ' event_p50_ms event_p99_ms')"
for rate in "${RATES[@]}"; do
  run_step "$rate" $((rate * SECONDS_PER_STEP)) "r$rate"
done
echo "results kept in $WORK" >&2
