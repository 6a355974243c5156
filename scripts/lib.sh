# shellcheck shell=bash
# Helpers shared by the scripts in this folder; sourced, never run. The sourcing script sets
# LOG_PREFIX (its name, e.g. LOG_PREFIX=test) first, then:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Sets ROOT (the repository) and DOCKER (the client); defines log, die, have_image, engine_up,
# package_installed, wait_for_dpkg_lock, apt_install, ensure_packages, wait_for and
# ensure_node_modules.

: "${LOG_PREFIX:?set LOG_PREFIX before sourcing lib.sh}"

# shellcheck disable=SC2034 # used by the sourcing scripts
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Always Debian's client: a newer /usr/local/bin/docker that may come first on PATH breaks
# BuildKit builds against Debian's 20.10 engine.
DOCKER=/usr/bin/docker

log() { echo "$LOG_PREFIX: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
engine_up() { "$DOCKER" info >/dev/null 2>&1; }

package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# Another apt/dpkg run (e.g. a background install) holds the lock: wait for it
# instead of failing on "Could not get lock".
wait_for_dpkg_lock() {
  local waited=0
  while pgrep -x 'apt-get|apt|dpkg' >/dev/null 2>&1; do
    if (( waited == 0 )); then log "waiting for another apt/dpkg run to finish..."; fi
    if (( waited >= 900 )); then die "apt/dpkg still busy after ${waited}s"; fi
    sleep 3
    waited=$((waited + 3))
  done
}

# apt_install [apt-get install options...] packages...: update the lists, then install,
# quietly. Lock::Timeout: another apt run (ensure-docker.sh, ensure-chromium.sh, a background
# install) may hold the lock, or take it between a caller's check and this run.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

# ensure_packages packages...: installs those of Debian's packages that are missing, after any
# other apt run, and dies when one is still missing.
ensure_packages() {
  local pkg missing=()
  for pkg in "$@"; do package_installed "$pkg" || missing+=("$pkg"); done
  (( ${#missing[@]} == 0 )) && return 0
  wait_for_dpkg_lock
  # The run we waited for may have installed them already.
  local still=()
  for pkg in "${missing[@]}"; do package_installed "$pkg" || still+=("$pkg"); done
  (( ${#still[@]} == 0 )) && return 0
  log "installing: ${still[*]}"
  apt_install "${still[@]}"
  for pkg in "${still[@]}"; do
    package_installed "$pkg" || die "$pkg still missing after apt-get install"
  done
}

# wait_for SECONDS LOG_FILE WHAT CHECK...: runs CHECK every second until it succeeds; past
# SECONDS, shows LOG_FILE's last lines and dies: "WHAT within SECONDSs".
wait_for() {
  local seconds="$1" log_file="$2" what="$3" waited=0
  shift 3
  until "$@"; do
    if (( waited >= seconds )); then
      log "last lines of $log_file:"
      tail -n 20 "$log_file" >&2 2>/dev/null || true
      die "$what within ${seconds}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# npm ci in the repository when there is no node_modules yet.
ensure_node_modules() {
  if [[ ! -d "$ROOT/node_modules" ]]; then
    log "installing dependencies"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
}
