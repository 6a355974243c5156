#!/usr/bin/env bash
# Runs every test: static checks, the spec drift check, unit tests, the e2e tests against the
# real Docker engine with the real Claude Code CLI in the agent image, Swagger UI in Debian's
# chromium, the store against a real PostgreSQL, and the compose stack's smoke test. On a fresh
# machine it first installs and starts what the tests need (Docker, the images, chromium,
# PostgreSQL, Redis, npm ci).
#
# Usage: scripts/test.sh [jest args...]
set -euo pipefail
LOG_PREFIX="test"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/build-images.sh" --with-api
"$ROOT/scripts/ensure-chromium.sh"
"$ROOT/scripts/ensure-postgres.sh"
"$ROOT/scripts/ensure-redis.sh"
ensure_node_modules

log "the images: non-root, health checks, the API image's size budget"
"$ROOT/scripts/check-images.sh"

log "static checks (tsc, eslint, prettier)"
npm run -s check
log "committed openapi.json and client match the built app"
npm run -s openapi:check

log "the compose stack (socket proxy, API, agent) on the built images"
"$ROOT/scripts/compose-smoke.sh"

mkdir -p test-output
# Never last run's results: Jest writes none when it stops early (the leak check, say).
rm -f test-output/jest.json
status=0
npm test -s -- --ci --json --outputFile=test-output/jest.json "$@" || status=$?

# One plain closing line, whatever the runner printed above.
node -e '
  if (!require("fs").existsSync("./test-output/jest.json")) {
    console.log("jest: wrote no results (it stopped early: see above)");
    process.exit();
  }
  const r = require("./test-output/jest.json");
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  console.log(`jest: ${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests} skipped`);
' || true
exit "$status"
