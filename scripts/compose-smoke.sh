#!/usr/bin/env bash
# Brings docker-compose.yml up as Dokploy would, on the locally built images (no registry, no
# build), with the API's port on loopback (docker-compose.publish.yml), and smoke-tests it through the generated client (scripts/compose-smoke.ts): start dev,
# run a prompt, list sessions. The model API is the fake one (test/support/fake-anthropic-main.ts)
# on the host's loopback; the agent containers use host networking to reach it, so no traffic
# leaves the machine. Everything it creates is named cca-smoke-<id> and is removed on exit, pass
# or fail.
#
# Needs: scripts/build-images.sh --with-api (the API, proxy and agent images), node_modules, and
# Debian's docker-compose (1.29).
#
# Usage: scripts/compose-smoke.sh
set -euo pipefail
LOG_PREFIX="compose-smoke"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

COMPOSE=/usr/bin/docker-compose
ID="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
PROJECT="cca-smoke-$ID"
PREFIX="cca-smoke-$ID-"
WORK="$(mktemp -d /tmp/cca-smoke.XXXXXX)"
FAKE_PID=""

compose() {
  # --env-file: the settings below only, never a developer's .env next to the compose file.
  # docker-compose.publish.yml: the API's port on loopback, as the README documents it.
  "$COMPOSE" --ansi never -p "$PROJECT" --env-file "$WORK/env" \
    -f docker-compose.yml -f docker-compose.publish.yml -f "$WORK/override.yml" "$@"
}

cleanup() {
  local status=$?
  set +e
  if (( status != 0 )) && [[ -f "$WORK/override.yml" ]]; then
    log "failed; the stack's last logs:"
    compose logs --no-color --tail 40 >&2
    [[ -f "$WORK/fake.log" ]] && { log "fake upstream log:"; tail -n 20 "$WORK/fake.log" >&2; }
  fi
  log "tearing down $PROJECT"
  [[ -f "$WORK/override.yml" ]] && compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1
  # What the API created itself: the agent containers and their volumes.
  local ids
  ids="$("$DOCKER" ps -aq --filter "name=^$PREFIX")"
  [[ -n "$ids" ]] && "$DOCKER" rm -f $ids >/dev/null
  ids="$("$DOCKER" volume ls -q --filter "name=^$PREFIX")"
  [[ -n "$ids" ]] && "$DOCKER" volume rm -f $ids >/dev/null
  ids="$("$DOCKER" network ls -q --filter "name=^$PREFIX")"
  [[ -n "$ids" ]] && "$DOCKER" network rm $ids >/dev/null
  [[ -n "$FAKE_PID" ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  rm -rf "$WORK"
  if (( status == 0 )); then log "passed"; else log "FAILED (exit $status)"; fi
  exit "$status"
}
trap cleanup EXIT

[[ -x "$COMPOSE" ]] || die "$COMPOSE not found (Debian package docker-compose)"
[[ -d node_modules ]] || die "node_modules missing: run npm ci"
AGENT_IMAGE="$(sed -n 's/^ *AGENT_IMAGE: //p' docker-compose.yml)"
for image in claudecode-api:latest claudecode-socket-proxy:latest "$AGENT_IMAGE"; do
  have_image "$image" || die "image $image missing: run scripts/build-images.sh --with-api"
done

# TypeScript compiled by the repo's own tsc (node 20 cannot run .ts); NODE_PATH lets the output,
# outside the repo, find the repo's node_modules.
log "compiling the smoke client and the fake upstream"
npx tsc -p tsconfig.smoke.json --outDir "$WORK/js"
export NODE_PATH="$ROOT/node_modules"

node "$WORK/js/test/support/fake-anthropic-main.js" --host 127.0.0.1 --port 0 --quiet \
  >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do
  FAKE_URL="$(sed -n 's/^FAKE_ANTHROPIC_URL=//p' "$WORK/fake.log")"
  [[ -n "$FAKE_URL" ]] && break
  kill -0 "$FAKE_PID" 2>/dev/null || die "the fake upstream exited: $(cat "$WORK/fake.log")"
  sleep 0.1
done
[[ -n "$FAKE_URL" ]] || die "the fake upstream did not start"
log "fake upstream at $FAKE_URL"

TOKEN="smoke-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$WORK/env" <<EOF
API_TOKEN=$TOKEN
API_PUBLISH=127.0.0.1:
ENVIRONMENTS=dev
CONTAINER_PREFIX=${PREFIX}agent-
VOLUME_PREFIX=$PREFIX
DOCKER_GID=$(stat -c %g /var/run/docker.sock)
EOF
# Test-only changes: own names for everything the compose file names globally (so no real
# deployment's volumes or network are touched), and host networking for the agents so they
# reach the fake upstream on loopback (the socket proxy must allow that network, as it would
# any deployment's).
cat >"$WORK/override.yml" <<EOF
version: '3.8'
services:
  api:
    environment:
      AGENT_NETWORK: host
      AGENT_ENV_ANTHROPIC_BASE_URL: $FAKE_URL
      AGENT_ENV_ANTHROPIC_API_KEY: sk-ant-smoke-dummy
  socket-proxy:
    environment:
      AGENT_NETWORK: host
volumes:
  claude-credentials:
    name: ${PREFIX}credentials
  claude-config-dev:
    name: ${PREFIX}config-dev
  claude-config-staging:
    name: ${PREFIX}config-staging
  claude-config-prod:
    name: ${PREFIX}config-prod
  claude-workspace-dev:
    name: ${PREFIX}workspace-dev
  claude-workspace-staging:
    name: ${PREFIX}workspace-staging
  claude-workspace-prod:
    name: ${PREFIX}workspace-prod
  claude-sessions-dev:
    name: ${PREFIX}sessions-dev
  claude-sessions-staging:
    name: ${PREFIX}sessions-staging
  claude-sessions-prod:
    name: ${PREFIX}sessions-prod
networks:
  default:
    name: ${PREFIX}network
EOF

# As Dokploy deploys it, the compose file alone publishes no port.
published="$("$COMPOSE" --ansi never --env-file "$WORK/env" -f docker-compose.yml config | grep -c '^ *ports:' || true)"
[[ "$published" == 0 ]] || die "docker-compose.yml alone publishes a port"
log "docker-compose.yml alone publishes no port: ok"

# The replicas' variant cannot be brought up here (its PostgreSQL and Redis images would be
# pulled); docker-compose validates it, and it publishes no port either.
replicas="$(API_TOKEN="$TOKEN" POSTGRES_PASSWORD=smoke REDIS_PASSWORD=smoke API_DOMAIN=api.example.test \
  "$COMPOSE" --ansi never --env-file "$WORK/env" -f docker-compose.replicas.yml config)" \
  || die "docker-compose.replicas.yml is not a valid compose file"
[[ "$(grep -c '^ *ports:' <<<"$replicas" || true)" == 0 ]] || die "docker-compose.replicas.yml publishes a port"
log "docker-compose.replicas.yml is valid and publishes no port: ok"

log "bringing up $PROJECT"
compose up -d --no-build
API_ADDR="$(compose port api 3000)"
[[ "$API_ADDR" == 127.0.0.1:* ]] || die "the API is published on '$API_ADDR', expected loopback only"
BASE_URL="http://$API_ADDR"

log "waiting for $BASE_URL/health/ready"
ready=""
for _ in $(seq 90); do
  if ready="$(curl -fsS --max-time 3 "$BASE_URL/health/ready" 2>/dev/null)"; then break; fi
  ready=""
  sleep 1
done
[[ -n "$ready" ]] || die "/health/ready did not answer 200 within 90s"
log "ready: $ready"

SMOKE_BASE_URL="$BASE_URL" SMOKE_TOKEN="$TOKEN" node "$WORK/js/scripts/compose-smoke.js"

# The proxy must be out of the agents' reach. Checked on Docker's own record of the networks, not
# by connecting: tests address loopback only, never a container's private IP.
proxy_id="$(compose ps -q socket-proxy)"
[[ -n "$proxy_id" ]] || die "no socket-proxy container"
proxy_networks="$("$DOCKER" inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$proxy_id")"
[[ "$proxy_networks" == "${PROJECT}_docker-api " ]] \
  || die "the socket proxy is on other networks than its own: $proxy_networks"
[[ "$("$DOCKER" network inspect --format '{{.Internal}}' "${PROJECT}_docker-api")" == true ]] \
  || die "the socket proxy's network is not internal"
log "the socket proxy is out of the agents' reach: ok"
