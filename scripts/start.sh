#!/usr/bin/env bash
# Runs claudecode-api on this machine with the embedded defaults and the local Docker socket.
# On a fresh machine it installs and starts Docker, builds the agent image when it is missing
# (making the base images locally where they cannot be pulled), installs, builds, and starts.
# When API_TOKEN is not set, it generates one into a git-ignored .env and prints it.
#
# Usage: scripts/start.sh        (settings: environment variables or .env, see the README)
set -euo pipefail
LOG_PREFIX="start"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/build-images.sh" --agent-only # the socket proxy is for compose only

ensure_node_modules
log "building"
npm run -s build

if [[ -f .env ]]; then
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi
if [[ -z "${API_TOKEN:-}" ]]; then
  API_TOKEN="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')"
  umask 077
  echo "API_TOKEN=$API_TOKEN" >> .env
  export API_TOKEN
  log "generated API_TOKEN into .env: $API_TOKEN"
fi

exec node dist/main.js
