#!/usr/bin/env bash
# `npm start`: the whole stack on one machine. Installs dependencies if missing,
# makes sure PostgreSQL and Redis answer (starting local ones if needed), then runs
# the edge, the API (which creates the database if missing, applies migrations and
# bootstraps a first account and key; the registrar starts once it is up) and the
# registrar, and prints where each part listens.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_node_modules
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sipreg}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
ensure_postgres "$DATABASE_URL"
ensure_redis "$REDIS_URL" "${DATA_DIR:-.data}/redis"
echo "build: compiling TypeScript" >&2
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
node dist/console/build.js  # the admin console's static files (served by the API at /console/)
exec node --enable-source-maps dist/scripts/stack.js
