#!/usr/bin/env bash
# Runs every test: static checks, the spec drift check, unit tests, and the e2e tests against
# the real Docker engine with the real Claude Code CLI in the agent image. On a fresh machine it
# first installs and starts what the tests need (scripts/build-images.sh, npm ci).
#
# Usage: scripts/test.sh [jest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "test: $*" >&2; }

"$ROOT/scripts/build-images.sh"
if [[ ! -d node_modules ]]; then
  log "installing dependencies"
  npm ci --no-audit --no-fund
fi

log "static checks (tsc, eslint, prettier)"
npm run -s check
log "committed openapi.json and client match the built app"
npm run -s openapi:check

mkdir -p test-output
status=0
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci \
  --json --outputFile=test-output/jest.json "$@" || status=$?

# One plain closing line, whatever the runner printed above.
node -e '
  const r = require("./test-output/jest.json");
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  console.log(`jest: ${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests} skipped`);
' || true
exit "$status"
