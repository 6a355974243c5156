#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (test/browser), which drive it
# with playwright-core: `npx playwright install` cannot download a browser here. Idempotent;
# runs as root.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

log() { echo "ensure-chromium: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

installed() { dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q '^install ok installed$'; }

if ! installed; then
  [[ "$(id -u)" -eq 0 ]] || die "chromium is missing and installing it needs root"
  log "installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  # Lock::Timeout: another apt run (ensure-docker.sh, a background install) may hold the lock.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
  installed || die "chromium still missing after apt-get install"
fi
[[ -x "$CHROMIUM" ]] || die "$CHROMIUM not found (package chromium)"
log "$("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"
