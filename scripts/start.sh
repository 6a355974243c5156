#!/usr/bin/env bash
# Runs claudecode-api on this machine with the embedded defaults and the local Docker socket.
# On a fresh machine it installs and starts Docker, builds the agent image when it is missing
# (making the base images locally where they cannot be pulled), installs, builds, and starts.
# When API_TOKEN is not set, it generates one into a git-ignored .env (mode 600) and prints it.
# It listens on 127.0.0.1 unless HOST says otherwise.
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

# .env holds the token: readable by its owner only, whoever made it.
if [[ -f .env ]]; then
  if (( 8#$(stat -c %a .env) & 8#077 )); then
    chmod 600 .env
    log "set .env to mode 600: it holds secrets"
  fi
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi
if [[ -z "${API_TOKEN:-}" ]]; then
  API_TOKEN="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')"
  (umask 077 && echo "API_TOKEN=$API_TOKEN" >> .env)
  export API_TOKEN
  log "generated API_TOKEN into .env: $API_TOKEN"
fi

# This machine only, unless told otherwise: a public address should go through a TLS proxy.
export HOST="${HOST:-127.0.0.1}"
log "listening on $HOST:${PORT:-3000} (HOST=0.0.0.0 listens on every interface)"
# A person at a terminal reads coloured lines; anything else (a pipe, a log collector) gets JSON.
if [[ -z "${LOG_FORMAT:-}" && -t 1 ]]; then
  export LOG_FORMAT=pretty
fi
exec node dist/main.js
