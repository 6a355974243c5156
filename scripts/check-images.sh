#!/usr/bin/env bash
# Checks what the deployment promises of the built images: each runs as a non-root user and has a
# HEALTHCHECK, and the API image stays under its size budget. Prints every image's size (the
# agent image is dominated by the Claude Code CLI; it has no budget).
#
# Needs: scripts/build-images.sh --with-api.
# Usage: scripts/check-images.sh
set -euo pipefail
LOG_PREFIX="check-images"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

API_IMAGE=claudecode-api:latest
API_BUDGET_MB=250 # MB as `docker images` counts them (10^6 bytes)
IMAGES=("$API_IMAGE" claudecode-agent:latest claudecode-socket-proxy:latest)

failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

for image in "${IMAGES[@]}"; do
  if ! facts="$("$DOCKER" image inspect --format '{{.Size}} {{.Config.User}} {{if .Config.Healthcheck}}{{index .Config.Healthcheck.Test 0}}{{end}}' "$image" 2>/dev/null)"; then
    fail "$image is not built (run scripts/build-images.sh --with-api)"
    continue
  fi
  read -r size user healthcheck <<<"$facts"
  log "$image: $((size / 1000 / 1000)) MB, user '${user}', healthcheck '${healthcheck:-none}'"
  case "$user" in
    '' | root | 0 | 0:*) fail "$image runs as root" ;;
  esac
  [[ -n "$healthcheck" && "$healthcheck" != NONE ]] || fail "$image has no HEALTHCHECK"
  if [[ "$image" == "$API_IMAGE" ]] && (( size >= API_BUDGET_MB * 1000 * 1000 )); then
    fail "$image is $((size / 1000 / 1000)) MB, over the ${API_BUDGET_MB} MB budget"
  fi
done

(( failures == 0 )) || exit 1
log "passed"
