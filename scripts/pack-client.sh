#!/usr/bin/env bash
# Packs the client package (@lifeos/claudecode-api-client) into dist-client/, built by its
# `prepare` script on the way, and prints the tarball's path: LifeOS installs it with
# `npm install <path>`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p dist-client
tarball="$(npm pack ./client --pack-destination dist-client --silent)"
echo "dist-client/${tarball}"
