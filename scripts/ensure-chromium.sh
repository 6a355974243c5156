#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (test/browser), which drive it
# with playwright-core: `npx playwright install` cannot download a browser here. Idempotent;
# runs as root.
set -euo pipefail
LOG_PREFIX="ensure-chromium"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=/usr/bin/chromium

if ! package_installed chromium; then
  [[ "$(id -u)" -eq 0 ]] || die "chromium is missing and installing it needs root"
  log "installing chromium"
  apt_install --no-install-recommends chromium
  package_installed chromium || die "chromium still missing after apt-get install"
fi
[[ -x "$CHROMIUM" ]] || die "$CHROMIUM not found (package chromium)"
log "$("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"
