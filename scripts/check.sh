#!/usr/bin/env bash
# The static checks (npm run check): the compilers of the service, the client and the LifeOS
# examples, eslint, prettier.
#
# Most of the time goes to eslint's typed rules, so eslint runs beside the rest, and each part
# keeps what it learnt in node_modules/.cache/check: a run after a small change redoes only what
# the change touched. The compilers' and prettier's caches are exact. ESLint's is per file, so it
# can miss a change in a type that an unchanged file imports: CI (CI=true) never uses it, and
# `rm -rf node_modules/.cache/check` gives a local run from nothing.
#
# Each part's output is printed whole once it ends; the check fails when any part fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

cache=node_modules/.cache/check
mkdir -p "$cache"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# tsc -p CONFIG, keeping its incremental state under the cache (ARGS: more tsc options).
compile() {
  local config="$1"
  shift
  tsc -p "$config" --incremental --tsBuildInfoFile "$cache/${config//\//_}.tsbuildinfo" "$@"
}

compile_and_format() {
  compile tsconfig.json --noEmit &&
    compile client/tsconfig.json --noEmit &&
    compile examples/lifeos/tsconfig.json &&
    compile examples/lifeos/usage-probe/tsconfig.json &&
    compile examples/lifeos/api/tsconfig.json &&
    prettier --check --cache --cache-strategy content --cache-location "$cache/prettier" .
}

lint() {
  if [[ "${CI:-}" == "true" ]]; then
    eslint .
  else
    eslint --cache --cache-strategy content --cache-location "$cache/eslint" .
  fi
}

compile_and_format >"$out/compile" 2>&1 &
compiling=$!
lint >"$out/lint" 2>&1 &
linting=$!

status=0
wait "$compiling" || status=1
cat "$out/compile"
wait "$linting" || status=1
cat "$out/lint"
exit "$status"
