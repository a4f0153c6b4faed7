#!/usr/bin/env bash
# `npm test`: type check, lint, then every unit, integration and SIP test against real services.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_node_modules
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sipreg_test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
ensure_postgres "$TEST_DATABASE_URL" || exit 1
ensure_redis "$TEST_REDIS_URL" || exit 1
if ! command -v sipp >/dev/null; then
  if [ "$(id -u)" = 0 ]; then _apt_install sip-tester || exit 1; else echo "test: sipp missing (apt-get install sip-tester)" >&2; exit 1; fi
fi
command -v openssl >/dev/null || _apt_install openssl || exit 1  # TLS tests make their certificates with it
# The console's end-to-end tests drive Debian's Chromium (Playwright's own browser download cannot work here).
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ]; then _apt_install chromium || exit 1; else echo "test: chromium missing (apt-get install chromium)" >&2; exit 1; fi
fi

echo "== type check" >&2
npx tsc -p tsconfig.json --noEmit || { echo "0 passed, 1 failed: typecheck"; exit 1; }
npx tsc -p console/tsconfig.json --noEmit || { echo "0 passed, 1 failed: typecheck (console)"; exit 1; }
echo "== lint" >&2
npx eslint . || { echo "0 passed, 1 failed: lint"; exit 1; }
echo "== jest" >&2
# --forceExit: a failing test that leaves a socket open must not keep the run (and CI) waiting.
npx jest --forceExit "$@"
