#!/usr/bin/env bash
# Runs one TypeScript entry point: installs dependencies if missing, compiles the project (incrementally), runs the JS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_node_modules
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
entry="$1"; shift
# NODE_GC_FLAGS: V8 flags, defaulted by scripts/services.sh.
# shellcheck disable=SC2086 # zero or more flags
exec node --enable-source-maps $NODE_GC_FLAGS "dist/${entry%.ts}.js" "$@"
