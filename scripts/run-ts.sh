#!/usr/bin/env bash
# Runs one TypeScript entry point: installs dependencies if missing, compiles the project (incrementally), runs the JS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_node_modules
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
entry="$1"; shift
# NODE_GC_FLAGS: V8 flags (docs/operations.md, "Garbage collection"); unset: fewer major GCs
# (--heap-growing-percent=300); set but empty: V8's own defaults.
# shellcheck disable=SC2086 # zero or more flags
exec node --enable-source-maps ${NODE_GC_FLAGS---heap-growing-percent=300} "dist/${entry%.ts}.js" "$@"
