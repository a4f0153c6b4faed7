#!/usr/bin/env bash
# The project and Kamailio side by side, one script, one run: the same SIPp digest scenario
# (sipp-scenarios/register-bench.xml: REGISTER, 401, REGISTER, 200) and the same 10,000 users,
# over UDP, TCP and TLS (VS_TRANSPORTS, default "udp tcp tls"; SIPp -t tn: one connection per
# call; for TLS each of SIPp's connections is carried over its own TLS connection by bench/lib.sh's
# tls_front), at increasing rates; first the project (bench/registrar-sweep.sh: edge + registrar,
# Redis, PostgreSQL), then Debian's Kamailio 5.6 (bench/kamailio/kamailio.cfg.tmpl: auth_db on
# PostgreSQL, usrloc written through to Redis with db_redis). Ends with one line per transport:
# both highest clean rates (0 failed, 0 retransmissions, p99 ≤ 1 s), their ratio, and the project's p99 at
# 1,000/s and 3,000/s.
#
# Usage: bash bench/vs-kamailio.sh [rates...]   (default: 1000 2000 3000 3500 4000 4500 5000 5500 6000)
# Env:   BENCH_SECONDS (per step, default 10), KAMAILIO_CHILDREN (UDP and TCP workers, default 4),
#        KAMAILIO_TLS_CHILDREN (TCP workers when over TLS, default 1: see start_kamailio),
#        KAMAILIO_SHM_MB (shared memory, default 512), BENCH_DATABASE_URL (the project's; Kamailio
#        uses a database kamailio_bench on the same server), VS_ONLY_KAMAILIO=1 (skip the project's sweep).
#        VS_STREAM_RATES (rates for TCP and TLS, default the same as UDP's),
#        DRACHTIO_SERVER_BIN (a drachtio-server binary: then also, over UDP, drachtio-server with
#        the trivial app of bench/edge-register-app.ts and with the registrar; VS_DRACHTIO_RATES).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # TCP sweeps hold a socket per call
RATES=("$@"); [ ${#RATES[@]} -eq 0 ] && RATES=(1000 2000 3000 3500 4000 4500 5000 5500 6000)
SECONDS_PER_STEP="${BENCH_SECONDS:-10}"
DEVICES=10000
DOMAIN=bench.example
CHILDREN="${KAMAILIO_CHILDREN:-4}"
SHM_MB="${KAMAILIO_SHM_MB:-512}"
PG_BASE="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sipreg_bench}"
KAM_DB="${PG_BASE%/*}/kamailio_bench"
WORK=$(mktemp -d /tmp/vs-kamailio.XXXXXX)
source bench/lib.sh # PIDS, cleanup on exit, free_port, wait_port
source scripts/services.sh
command -v sipp >/dev/null || _apt_install sip-tester
command -v kamailio >/dev/null && [ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/db_redis.so ] && [ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so ] \
  && [ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] \
  || _apt_install kamailio kamailio-redis-modules kamailio-postgres-modules kamailio-tls-modules

CALIBRATION_START=$(calibrate_ms)
echo "== calibration ${CALIBRATION_START} ms (bench/lib.sh calibrate_ms: lower is faster)" >&2

# ---- the project ----
TRANSPORTS=(${VS_TRANSPORTS:-udp tcp tls})
STREAM_RATES=(${VS_STREAM_RATES:-${RATES[*]}})
sipp_t() { case "$1" in udp) echo u1 ;; tcp) echo tn ;; tls) echo tls ;; *) echo "unknown transport $1" >&2; exit 1 ;; esac; }
rates_for() { if [ "$1" = udp ]; then echo "${RATES[*]}"; else echo "${STREAM_RATES[*]}"; fi; }
for tr in "${TRANSPORTS[@]}"; do
  if [ "${VS_ONLY_KAMAILIO:-0}" = 1 ]; then
    : > "$WORK/project-$tr.txt"
  else
    echo "== the project over $tr: bench/registrar-sweep.sh $(rates_for "$tr")" >&2
    # Over TCP and TLS without the memory step (its 1,000/s is past the TLS limit of both servers).
    BENCH_MEMORY_STEP=$([ "$tr" = udp ] && echo 1 || echo 0) BENCH_TRANSPORT="$(sipp_t "$tr")" BENCH_SECONDS="$SECONDS_PER_STEP" bash bench/registrar-sweep.sh $(rates_for "$tr") | tee "$WORK/project-$tr.txt" >&2
  fi
done

# ---- through drachtio-server: a trivial app (401, then 200, nothing checked) and the registrar ----
DRACHTIO_RATES=(${VS_DRACHTIO_RATES:-${RATES[*]}})
if [ -n "${DRACHTIO_SERVER_BIN:-}" ] && [ "${VS_ONLY_KAMAILIO:-0}" != 1 ]; then
  for app in trivial registrar; do
    echo "== drachtio-server $("$DRACHTIO_SERVER_BIN" --version 2>/dev/null | head -1) with the $app app over udp: ${DRACHTIO_RATES[*]}" >&2
    BENCH_ENGINE=drachtio BENCH_APP=$app BENCH_SECONDS="$SECONDS_PER_STEP" bash bench/registrar-sweep.sh "${DRACHTIO_RATES[@]}" | tee "$WORK/drachtio-$app.txt" >&2
  done
fi

# ---- Kamailio ----
echo "== Kamailio $(kamailio -v | head -1 | awk '{print $3}'): database $KAM_DB" >&2
psql "${PG_BASE%/*}/postgres" -tAq -c "SELECT 1 FROM pg_database WHERE datname = 'kamailio_bench'" | grep -q 1 || psql "${PG_BASE%/*}/postgres" -q -c "CREATE DATABASE kamailio_bench"
psql "$KAM_DB" -q -c "DROP TABLE IF EXISTS subscriber, version"
psql "$KAM_DB" -q -f /usr/share/kamailio/postgres/standard-create.sql >/dev/null
psql "$KAM_DB" -q -f /usr/share/kamailio/postgres/auth_db-create.sql >/dev/null
psql "$KAM_DB" -q -c "INSERT INTO subscriber (username, domain, password, ha1, ha1b) SELECT 'u' || i, '$DOMAIN', '', md5('u' || i || ':$DOMAIN:pw' || i), '' FROM generate_series(1, $DEVICES) AS i"
{ echo SEQUENTIAL; for i in $(seq 1 "$DEVICES"); do echo "u$i;pw$i;$DOMAIN;[authentication username=u$i password=pw$i]"; done; } > "$WORK/users.csv"

REDIS_PORT=$(free_port); SIP_PORT=$(free_port); TLS_PORT=$(free_port); FRONT_PORT=$(free_port)
printf ' %s ' "${TRANSPORTS[@]}" | grep -qE ' (tcp|tls) ' && limit_time_wait
make_cert "$WORK"
cat > "$WORK/tls.cfg" <<TLS
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = $WORK/cert.pem
private_key = $WORK/key.pem
TLS
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & PIDS+=($!)
wait_port "$REDIS_PORT"
redis-cli -p "$REDIS_PORT" HSET version:entry::location table_version 9 >/dev/null
# As many open files as this shell may have (Kamailio refuses to start when it cannot raise its limit).
OPEN_FILES=$(ulimit -Hn); [ "$OPEN_FILES" = unlimited ] && OPEN_FILES=65536
# A fresh Kamailio for each transport (as the project's sweep starts fresh processes):
# start_kamailio TCP_WORKERS. Over TLS Debian's 5.6.3 runs one TCP worker: with several, OpenSSL 3
# state shared across Kamailio's processes double-frees and the worker dies within seconds of
# load (kamailio issues #3791 and #4055; the cure, tls_threads_mode, came with 5.7.5/5.8). One
# worker was stable in every run here; it also caps Kamailio's TLS rate, which the note says.
KAM_PID=""
start_kamailio() {
  # usrloc (db_mode 1) loads every binding in Redis at start, into its 16 MB of private memory per
  # process: the previous transport's 10,000 would not fit (a worker fails and Kamailio dies).
  redis-cli -p "$REDIS_PORT" --scan --pattern 'location:*' | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" del >/dev/null
  sed -e "s#@OPEN_FILES@#$OPEN_FILES#g" -e "s#@TCP_CHILDREN@#$1#g" -e "s#@TLS_PORT@#$TLS_PORT#g" -e "s#@TLS_CONFIG@#$WORK/tls.cfg#g" \
    -e "s#@CHILDREN@#$CHILDREN#g" -e "s#@SIP_PORT@#$SIP_PORT#g" -e "s#@REDIS_URL@#redis://127.0.0.1:$REDIS_PORT/0#g" -e "s#@DB_URL@#$KAM_DB#g" \
    bench/kamailio/kamailio.cfg.tmpl > "$WORK/kamailio.cfg"
  kamailio -A WITH_TLS -c -f "$WORK/kamailio.cfg" >"$WORK/kamailio-check.log" 2>&1 || { cat "$WORK/kamailio-check.log" >&2; exit 1; }
  kamailio -A WITH_TLS -DD -E -f "$WORK/kamailio.cfg" -m "$SHM_MB" -M 16 -x tlsf -P "$WORK/kamailio.pid" >> "$WORK/kamailio.log" 2>&1 & PIDS+=($!); KAM_PID=$!
  sleep 2
  kill -0 "$KAM_PID" 2>/dev/null || { tail -20 "$WORK/kamailio.log" >&2; exit 1; }
}
stop_kamailio() { kill "$KAM_PID" 2>/dev/null || true; wait "$KAM_PID" 2>/dev/null || true; }
printf ' %s ' "${TRANSPORTS[@]}" | grep -q ' tls ' && tls_front "$FRONT_PORT" "$TLS_PORT"

kam_step() {
  local rate=$1 calls=$2 dir="$WORK/kam-$SIPP_T-$1"
  mkdir -p "$dir"
  sleep 2 # the previous step's backlog drains
  local calib; calib=$(calibrate_ms)
  redis-cli -p "$REDIS_PORT" --scan --pattern 'location:*' | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" del >/dev/null
  local target=$SIP_PORT t=$SIPP_T; [ "$SIPP_T" = tls ] && { target=$FRONT_PORT; t=tn; }
  ( cd "$dir" && sipp "127.0.0.1:$target" -sf "$OLDPWD/sipp-scenarios/register-bench.xml" -inf "$WORK/users.csv" \
      -auth_uri "$DOMAIN" -i 127.0.0.1 -p "$(free_port)" -t "$t" -r "$rate" -m "$calls" -l $((rate * 2)) -buff_size 4194304 -max_socket 15000 \
      -timeout $((SECONDS_PER_STEP * 3 + 20))s -timeout_error -nostdin -max_recv_loops 10000 -max_sched_loops 10000 \
      -trace_stat -stf "$dir/stat.csv" -fd 1 -trace_rtt -rtt_freq 1 >/dev/null 2>&1 ) || true
  col() { awk -F';' -v name="$1" 'NR==1 {for (i=1;i<=NF;i++) if ($i==name) c=i} {v=$c} END {print v+0}' "$dir/stat.csv"; }
  local rtt p50=NA p99=NA; rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
  if [ -n "$rtt" ]; then
    read -r p50 p99 < <(awk -F';' 'NR>1 && $2!="" {print $2}' "$rtt" | sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "NA NA"; exit} i50=int(NR*0.50); if(i50<1)i50=1; i99=int(NR*0.99); if(i99<1)i99=1; printf "%.2f %.2f\n", a[i50], a[i99]}')
  fi
  # What usrloc wrote through to Redis in this step (one hash per binding): the check that it did.
  local stored; stored=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'location:entry:*' | wc -l)
  echo "$rate $(col 'SuccessfulCall(C)') $(col 'FailedCall(C)') $(col 'Retransmissions(C)') $p50 $p99 $stored $calib"
}

for tr in "${TRANSPORTS[@]}"; do
  SIPP_T=$(sipp_t "$tr")
  workers=$CHILDREN; [ "$tr" = tls ] && workers=${KAMAILIO_TLS_CHILDREN:-1}
  echo "== Kamailio over $tr ($workers TCP workers)" >&2
  start_kamailio "$workers"
  echo "rate ok failed retransmissions sipp_p50_ms sipp_p99_ms bindings_in_redis calibration_ms" > "$WORK/kamailio-$tr.txt"
  for rate in $(rates_for "$tr"); do kam_step "$rate" $((rate * SECONDS_PER_STEP)) | tee -a "$WORK/kamailio-$tr.txt" >&2; done
  stop_kamailio
done

# ---- the lines ----
# Highest clean rate: every call successful, none failed, no retransmission, and SIPp's p99 of
# the whole registration at most 1 s (columns 1-4 and 6 of both kinds of lines; a sweep's own
# have at least 8 fields, Kamailio's 8). Over TCP and TLS SIPp never retransmits, so without the
# p99 bound a server that queues for seconds would count as clean; 1 s is what two transactions
# each answered within T1 (500 ms) take at most, the bound UDP's "no retransmission" sets.
clean() { awk '$1 ~ /^[0-9]+$/ && NF >= 7 && $3 == 0 && $4 == 0 && $6 != "NA" && $6 <= 1000 {best = $1} END {print best + 0}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf (b > 0 ? "%.2f" : "NA"), (b > 0 ? a / b : 0)}'; }
for tr in "${TRANSPORTS[@]}"; do
  project_clean=$(clean "$WORK/project-$tr.txt")
  kam_clean=$(clean "$WORK/kamailio-$tr.txt")
  p99_at() { awk -v r="$1" '$1 == r && NF >= 8 {print $6 "/" $8}' "$WORK/project-$tr.txt"; }
  echo "$tr: project clean up to ${project_clean}/s, Kamailio ${kam_clean}/s, ratio $(ratio "$project_clean" "$kam_clean"); project p99 (SIPp/probe ms) at 1000/s $(p99_at 1000), at 3000/s $(p99_at 3000)"
done
if [ -f "$WORK/drachtio-registrar.txt" ]; then
  t=$(clean "$WORK/drachtio-trivial.txt"); r=$(clean "$WORK/drachtio-registrar.txt")
  echo "drachtio-server (udp): trivial app clean up to ${t}/s, registrar ${r}/s, ratio $(ratio "$r" "$t")"
fi
echo "calibration_ms at start ${CALIBRATION_START}, at end $(calibrate_ms)"
echo "results in $WORK" >&2
