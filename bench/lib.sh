# Helpers the benchmark scripts share (sourced): processes they start are listed in PIDS and
# killed by PID on exit; free loopback ports; waiting for a TCP port to open.
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
# A free loopback port below the kernel's ephemeral range: a port taken from that range (bind to
# port 0) can be handed out again to one of our processes' own outgoing connections (to Redis,
# PostgreSQL) before the listener it was meant for binds it, and that listener then fails with
# EADDRINUSE (seen in TCP sweeps, whose thousands of connections cycle the range).
free_port() { python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    port = random.randrange(10000, max(low, 10001))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); print(port); break
    except OSError: pass
    finally: s.close()
'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }

# TCP and TLS sweeps with SIPp's `-t tn` open and close a connection per call, and SIPp closes
# first, so every call leaves a TIME-WAIT socket on one of SIPp's loopback ports for 60 s. With
# ~15,000 of them SIPp's bind() of the next socket to an ephemeral port took ~3.8 ms (strace),
# SIPp fell behind (its own watchdog tripped), then sent its backlog in bursts: the sweep measured
# SIPp, not the servers. `limit_time_wait` caps the kernel's TIME-WAIT table for the run (sockets
# past the cap close at once) and puts the old value back on exit; both servers see the same.
limit_time_wait() {
  local f=/proc/sys/net/ipv4/tcp_max_tw_buckets
  [ -w "$f" ] || { echo "cannot write $f: TCP sweeps will be limited by SIPp's port search" >&2; return 0; }
  TW_BUCKETS_BEFORE=$(cat "$f"); echo "${1:-1024}" > "$f"
  trap 'echo "$TW_BUCKETS_BEFORE" > /proc/sys/net/ipv4/tcp_max_tw_buckets; cleanup' EXIT
}

# A self-signed certificate (ECDSA P-256) for the TLS sweeps, the same for both servers:
# make_cert DIR writes DIR/cert.pem and DIR/key.pem.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=bench.example \
    -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}

# SIPp has no TLS: `tls_front PORT TARGET_PORT` listens for SIPp's TCP connections on PORT and
# carries each over its own new TLS connection to TARGET_PORT (a full handshake per connection,
# no session reuse: one phone per connection). HAProxy, not socat: socat forks a process per
# connection, and at 500 new connections/s two thousand socat processes, each paying OpenSSL's
# start-up, took both cores before either server was loaded. Started in the background, in PIDS.
tls_front() {
  command -v haproxy >/dev/null || _apt_install haproxy
  local cfg="$WORK/haproxy-$1.cfg"
  cat > "$cfg" <<CFG
global
  maxconn 9000
  nbthread 1
  ssl-server-verify none
defaults
  mode tcp
  timeout connect 10s
  timeout client 120s
  timeout server 120s
frontend sipp
  bind 127.0.0.1:$1 backlog 4096
  default_backend server
backend server
  server s1 127.0.0.1:$2 ssl no-ssl-reuse verify none
CFG
  haproxy -db -f "$cfg" >"$WORK/haproxy-$1.log" 2>&1 & PIDS+=($!)
  wait_port "$1"
}

# Builds, migrates DB_URL and seeds a benchmark account: seed_devices NAME DOMAIN FIRST LAST makes
# account acc_NAME with devices dev_sip_NAME<i> (user u<i>, password pw<i>, both HA1s), i from
# FIRST to LAST, after removing what an earlier run left of that account.
seed_devices() {
  echo "== build" >&2
  npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo >/dev/null || true
  echo "== database $DB_URL: migrate and seed devices $3..$4 of acc_$1" >&2
  DATABASE_URL="$DB_URL" node dist/scripts/migrate.js >/dev/null
  psql "$DB_URL" -q <<SQL
DELETE FROM events WHERE account_id = 'acc_$1';
DELETE FROM devices WHERE account_id = 'acc_$1';
DELETE FROM accounts WHERE id = 'acc_$1';
INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_$1', '$1 benchmark', '$2');
INSERT INTO devices (id, account_id, name, sip_username, sip_domain, password_enc, ha1_md5, ha1_sha256)
SELECT 'dev_sip_$1' || i, 'acc_$1', '$1 ' || i, 'u' || i, '$2', 'bench:not:encrypted:x',
       md5('u' || i || ':$2:pw' || i),
       encode(sha256(convert_to('u' || i || ':$2:pw' || i, 'UTF8')), 'hex')
FROM generate_series($3, $4) AS i;
SQL
}

# How fast this machine is right now: ms for a fixed single-threaded loop (100,000 MD5s of
# short strings), run just before each step. This machine's speed moves by a factor of two
# within a day; compare latencies only between runs with similar figures.
calibrate_ms() { node -e 'const c=require("crypto");const t=process.hrtime.bigint();for(let i=0;i<100000;i++)c.createHash("md5").update("calibration"+i).digest("hex");console.log(Math.round(Number(process.hrtime.bigint()-t)/1e6))'; }
