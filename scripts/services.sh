#!/usr/bin/env bash
# Sourced by start.sh, run-ts.sh, test.sh and the benchmarks: makes sure PostgreSQL and Redis answer at the
# configured URLs. When they do not and the URL points at this machine, starts the
# local ones from Debian's packages (installing them with apt when run as root).

# V8 flags of the Node services (docs/operations.md, "Garbage collection"). Unset: major GCs
# only once the old generation has grown 4x; set, even empty, it is used as given.
# docker-compose.yml writes the same flag on its command lines (compose cannot split a variable).
export NODE_GC_FLAGS="${NODE_GC_FLAGS---heap-growing-percent=300}"

_url_host() { node -e 'const u=new URL(process.argv[1]);process.stdout.write(u.hostname.replace(/^\[|\]$/g,""))' "$1"; }
_url_port() { node -e 'const u=new URL(process.argv[1]);process.stdout.write(u.port||process.argv[2])' "$1" "$2"; }
_is_local() { case "$1" in 127.*|localhost|::1) return 0;; *) return 1;; esac; }
_port_open() { node -e '
  const s=require("net").connect({host:process.argv[1],port:+process.argv[2]});
  s.setTimeout(1000);s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1));s.on("timeout",()=>process.exit(1));' "$1" "$2"; }
_wait_port() { for _ in $(seq 1 60); do _port_open "$1" "$2" && return 0; sleep 0.5; done; return 1; }

_apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "services: $* not installed; install it or run as root" >&2; return 1; fi
  echo "services: installing $* with apt" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  local url="$1" host port
  host=$(_url_host "$url"); port=$(_url_port "$url" 5432)
  _port_open "$host" "$port" && return 0
  if ! _is_local "$host"; then echo "services: PostgreSQL at $host:$port does not answer" >&2; return 1; fi
  local fresh=0 version
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    _apt_install postgresql || return 1
    fresh=1
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -z "$version" ]; then echo "services: no PostgreSQL cluster found" >&2; return 1; fi
  if [ "$fresh" = 1 ]; then
    # A cluster we just installed for local development: let loopback clients in as in the default URL.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | cat - "$hba" > "$hba.new" && mv "$hba.new" "$hba"
    chown postgres:postgres "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
  fi
  echo "services: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  _wait_port "$host" "$port" || { echo "services: PostgreSQL did not come up on $host:$port" >&2; return 1; }
}

# ensure_redis URL [DIR]: with DIR (npm start), a Redis it starts keeps its data there with AOF
# (appendfsync everysec: at most about one second of writes lost on a crash; docs/operations.md);
# without (npm test), it keeps nothing on disk.
ensure_redis() {
  local url="$1" dir="${2:-}" host port
  host=$(_url_host "$url"); port=$(_url_port "$url" 6379)
  _port_open "$host" "$port" && return 0
  if ! _is_local "$host"; then echo "services: Redis at $host:$port does not answer" >&2; return 1; fi
  command -v redis-server >/dev/null || _apt_install redis-server || return 1
  if [ -n "$dir" ]; then
    mkdir -p "$dir"
    echo "services: starting Redis on port $port (AOF in $dir)" >&2
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly yes --appendfsync everysec --dir "$(cd "$dir" && pwd)" >/dev/null
  else
    echo "services: starting Redis on port $port" >&2
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no >/dev/null
  fi
  _wait_port "$host" "$port" || { echo "services: Redis did not come up on $host:$port" >&2; return 1; }
}

ensure_node_modules() {
  # Reinstalled when the lock file or a dependency patch (patches/, applied by postinstall) is newer than the install.
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
    || [ -n "$(find patches -newer node_modules/.package-lock.json -print -quit 2>/dev/null)" ]; then
    echo "deps: installing npm dependencies" >&2
    npm ci --no-audit --no-fund >&2
  fi
}
