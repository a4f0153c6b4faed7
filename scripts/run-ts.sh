#!/usr/bin/env bash
# Runs one TypeScript entry point: installs dependencies if missing, compiles the project (incrementally), runs the JS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_node_modules
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
entry="$1"; shift
# shellcheck disable=SC2046 # node_gc_flags prints zero or more flags
exec node --enable-source-maps $(node_gc_flags) "dist/${entry%.ts}.js" "$@"
