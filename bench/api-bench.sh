#!/usr/bin/env bash
# Builds the project and runs the API benchmark (see bench/api-bench.ts for its settings).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
exec node dist/bench/api-bench.js "$@"
