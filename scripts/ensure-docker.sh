#!/usr/bin/env bash
# Make sure a Docker engine is installed and answering. Idempotent; runs as root.
#
# Always talks to the engine through Debian's client /usr/bin/docker: a newer
# /usr/local/bin/docker that may come first on PATH breaks BuildKit builds
# against Debian's 20.10 engine.
set -euo pipefail
LOG_PREFIX="ensure-docker"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD=/usr/sbin/dockerd
DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_PID=/var/run/docker.pid
PACKAGES=(docker.io docker-compose mmdebstrap eatmydata)
WAIT_SECONDS="${ENSURE_DOCKER_WAIT_SECONDS:-60}"

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages, starts dockerd)"

start_dockerd() {
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "dockerd is running but not answering yet; waiting for it"
    return 0
  fi
  # A killed dockerd leaves its pid file behind and the next one refuses to start.
  if [[ -e "$DOCKERD_PID" ]]; then
    log "removing stale $DOCKERD_PID"
    rm -f "$DOCKERD_PID"
  fi
  log "starting $DOCKERD (log: $DOCKERD_LOG)"
  # setsid + nohup: the engine must outlive this script and the calling shell.
  setsid nohup "$DOCKERD" >>"$DOCKERD_LOG" 2>&1 </dev/null &
}

# Recommends stay on: the verified setup had them (cgroupfs-mount, uidmap, fakeroot... for
# dockerd and mmdebstrap).
ensure_packages "${PACKAGES[@]}"
[[ -x "$DOCKER" ]] || die "$DOCKER not found (package docker.io)"
[[ -x "$DOCKERD" ]] || die "$DOCKERD not found (package docker.io)"

if ! engine_up; then
  start_dockerd
  wait_for "$WAIT_SECONDS" "$DOCKERD_LOG" "Docker engine did not answer '$DOCKER info'" engine_up
fi
log "engine up: $("$DOCKER" version --format 'server {{.Server.Version}}, client {{.Client.Version}}')"
