#!/usr/bin/env bash
# Build the project's Docker images, starting the engine and making the local
# base images first if needed. Images are only built when their tag is
# missing, unless --force is given (project images) or --force-base (also the
# local debian/node base images, see make-base-images.sh). The agent image is
# always built; the socket proxy (docker/socket-proxy, which the e2e tests need)
# too, unless --agent-only (all start.sh needs); the API image (./Dockerfile)
# with --with-api, which also rebuilds the proxy: the two deploy together
# (docker-compose.yml).
#
# Usage: build-images.sh [--force] [--force-base] [--agent-only | --with-api]
set -euo pipefail
LOG_PREFIX="build-images"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The pinned CLI version is the agent Dockerfile's ARG; versions.spec.ts checks the other copies.
CLAUDE_CODE_VERSION="$(sed -n 's/^ARG CLAUDE_CODE_VERSION=//p' "$ROOT/docker/agent/Dockerfile")"
AGENT_IMAGE="claudecode-agent"
API_IMAGE="claudecode-api"
PROXY_IMAGE="claudecode-socket-proxy"

FORCE=0
FORCE_BASE=0
WITH_API=0
AGENT_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --force-base) FORCE_BASE=1; FORCE=1 ;;
    --with-api) WITH_API=1 ;;
    --agent-only) AGENT_ONLY=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) log "unknown argument: $arg"; exit 2 ;;
  esac
done
if (( AGENT_ONLY && WITH_API )); then log "--agent-only and --with-api exclude each other"; exit 2; fi

# Build context dir $1 as tag $2 (plus any further tags), extra args after --.
build() {
  local ctx="$1"; shift
  local -a tags=() args=()
  while (( $# )) && [[ "$1" != -- ]]; do tags+=(-t "$1"); shift; done
  (( $# )) && shift
  args=("$@")
  # Never --pull: there is no registry; base images come from make-base-images.
  DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain "${tags[@]}" "${args[@]}" "$ctx"
}

build_agent() {
  local tag="$AGENT_IMAGE:$CLAUDE_CODE_VERSION"
  if (( ! FORCE )) && have_image "$tag"; then
    log "$tag present"
  else
    log "building $tag"
    build "$ROOT/docker/agent" "$tag" "$AGENT_IMAGE:latest" -- \
      --build-arg "CLAUDE_CODE_VERSION=$CLAUDE_CODE_VERSION"
  fi
  # Keep :latest pointing at the pinned version even when the build was skipped.
  "$DOCKER" tag "$tag" "$AGENT_IMAGE:latest"
}

# Small and quick to build (Debian's haproxy); rebuilt with the API so a deployment never pairs a
# new API with a stale allow-list.
build_proxy() {
  local tag="$PROXY_IMAGE:latest"
  if (( ! FORCE && ! WITH_API )) && have_image "$tag"; then
    log "$tag present"
  else
    log "building $tag"
    build "$ROOT/docker/socket-proxy" "$tag"
  fi
}

# The API image is rebuilt whenever asked for: its sources change with every commit, and
# BuildKit's cache makes an unchanged rebuild quick.
build_api() {
  log "building $API_IMAGE:latest"
  build "$ROOT" "$API_IMAGE:latest"
}

"$ROOT/scripts/ensure-docker.sh"
if (( FORCE_BASE )); then
  "$ROOT/scripts/make-base-images.sh" --force
else
  "$ROOT/scripts/make-base-images.sh"
fi
build_agent
if (( ! AGENT_ONLY )); then build_proxy; fi
if (( WITH_API )); then build_api; fi
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' \
  | grep -E "^($AGENT_IMAGE|$API_IMAGE|$PROXY_IMAGE):" >&2 || true
