#!/usr/bin/env bash
# Make sure Redis (Debian's redis-server) is installed and answering on 127.0.0.1:6379: started
# daemonized, loopback only, in protected mode, keeping nothing on disk (the tests' data is
# throwaway). Idempotent; runs as root. The tests reach it through TEST_REDIS_URL, whose default
# is redis://127.0.0.1:6379.
set -euo pipefail
LOG_PREFIX="ensure-redis"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(redis-server redis-tools)
PORT=6379
# The package's user and folders: the server runs unprivileged.
REDIS_USER=redis
REDIS_LOG=/var/log/redis/claudecode-test.log
REDIS_RUN_DIR=/run/redis
REDIS_PID="$REDIS_RUN_DIR/claudecode-test.pid"
REDIS_DIR=/var/lib/redis
WAIT_SECONDS="${ENSURE_REDIS_WAIT_SECONDS:-30}"

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages, starts redis-server)"

redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  install -d -o "$REDIS_USER" -g "$REDIS_USER" "$REDIS_RUN_DIR"
  [[ -d "$REDIS_DIR" && -d "$(dirname "$REDIS_LOG")" ]] ||
    die "$REDIS_DIR or $(dirname "$REDIS_LOG") missing (package redis-server makes them)"
  log "starting redis-server as $REDIS_USER on 127.0.0.1:$PORT (log: $REDIS_LOG)"
  # No config file: every setting is here. save "" and appendonly no: nothing on disk.
  runuser -u "$REDIS_USER" -- redis-server --bind 127.0.0.1 --port "$PORT" --protected-mode yes \
    --save '' --appendonly no --dir "$REDIS_DIR" \
    --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" ||
    die "redis-server did not start (see $REDIS_LOG)"
}

ensure_packages "${PACKAGES[@]}"
command -v redis-server >/dev/null || die "redis-server not found (package redis-server)"
command -v redis-cli >/dev/null || die "redis-cli not found (package redis-tools)"
id "$REDIS_USER" >/dev/null 2>&1 || die "no user $REDIS_USER (package redis-server makes it)"

if ! redis_up; then
  start_redis
  wait_for "$WAIT_SECONDS" "$REDIS_LOG" "Redis did not answer 'redis-cli -h 127.0.0.1 -p $PORT ping'" redis_up
fi
log "up on 127.0.0.1:$PORT: redis $(redis-cli -h 127.0.0.1 -p "$PORT" info server | sed -n 's/^redis_version:\(.*\)\r$/\1/p')"
