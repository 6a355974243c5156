#!/usr/bin/env bash
# Make sure PostgreSQL (Debian's packages) is installed, its cluster answers on 127.0.0.1 only,
# and the tests' role and database exist. Idempotent; runs as root.
#
# The tests reach it through TEST_DATABASE_URL, whose default is the role, password and database
# made here: postgres://claudecode_test:claudecode_test@127.0.0.1:5432/claudecode_test. The role
# may create databases, so each test file works in a fresh one of its own.
set -euo pipefail
LOG_PREFIX="ensure-postgres"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(postgresql)
PORT=5432
TEST_ROLE=claudecode_test
# A password for a test role on loopback, not a secret: test/support/postgres.ts has it too.
TEST_PASSWORD=claudecode_test
TEST_DATABASE=claudecode_test
WAIT_SECONDS="${ENSURE_POSTGRES_WAIT_SECONDS:-60}"

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages, starts the cluster)"

# The newest cluster as "<version> <name>", made when the package did not make one.
cluster() {
  local found
  found="$(pg_lsclusters --no-header 2>/dev/null | sort -k1,1n | tail -n 1 | awk '{print $1, $2}')"
  if [[ -z "$found" ]]; then
    local version
    version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)"
    [[ -n "$version" ]] || die "no PostgreSQL server under /usr/lib/postgresql"
    log "creating cluster $version main"
    pg_createcluster "$version" main >/dev/null
    found="$version main"
  fi
  echo "$found"
}

# as_postgres SQL...: runs statements as the superuser over the local socket (peer auth).
as_postgres() {
  runuser -u postgres -- psql -X -q -p "$PORT" -d postgres -v ON_ERROR_STOP=1 -At "$@"
}

cluster_up() { pg_isready -q -h 127.0.0.1 -p "$PORT"; }

ensure_test_role_and_database() {
  as_postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEST_ROLE') THEN
    CREATE ROLE $TEST_ROLE;
  END IF;
END
\$\$;
ALTER ROLE $TEST_ROLE LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD '$TEST_PASSWORD';
SQL
  if [[ "$(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$TEST_DATABASE'")" != 1 ]]; then
    log "creating database $TEST_DATABASE"
    as_postgres -c "CREATE DATABASE $TEST_DATABASE OWNER $TEST_ROLE"
  fi
}

ensure_packages "${PACKAGES[@]}"
read -r VERSION NAME < <(cluster)
LOG_FILE="/var/log/postgresql/postgresql-$VERSION-$NAME.log"
[[ "$(pg_conftool -s "$VERSION" "$NAME" show port)" == "$PORT" ]] ||
  die "cluster $VERSION/$NAME does not listen on port $PORT (see pg_lsclusters)"

# Loopback only: the tests and a local service are its only clients. A drop-in of ours, read
# after postgresql.conf (include_dir 'conf.d'), so Debian's file stays as the package left it.
LISTEN_CONF="/etc/postgresql/$VERSION/$NAME/conf.d/claudecode-loopback.conf"
LISTEN_LINE="listen_addresses = '127.0.0.1'"
if [[ "$(cat "$LISTEN_CONF" 2>/dev/null || true)" != "$LISTEN_LINE" ]]; then
  log "writing $LISTEN_CONF ($LISTEN_LINE)"
  echo "$LISTEN_LINE" >"$LISTEN_CONF"
  if pg_ctlcluster "$VERSION" "$NAME" status >/dev/null 2>&1; then
    log "restarting cluster $VERSION/$NAME for the new listen address"
    pg_ctlcluster "$VERSION" "$NAME" restart
  fi
fi

if ! pg_ctlcluster "$VERSION" "$NAME" status >/dev/null 2>&1; then
  log "starting cluster $VERSION/$NAME (log: $LOG_FILE)"
  pg_ctlcluster "$VERSION" "$NAME" start || die "pg_ctlcluster $VERSION $NAME start failed (see $LOG_FILE)"
fi
wait_for "$WAIT_SECONDS" "$LOG_FILE" "PostgreSQL $VERSION/$NAME did not answer on 127.0.0.1:$PORT" cluster_up

ensure_test_role_and_database
PGPASSWORD="$TEST_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$TEST_ROLE" -d "$TEST_DATABASE" \
  -v ON_ERROR_STOP=1 -Atc 'SELECT 1' >/dev/null ||
  die "the test role cannot sign in to $TEST_DATABASE on 127.0.0.1:$PORT"
log "cluster $VERSION/$NAME up on 127.0.0.1:$PORT: $(as_postgres -c 'SHOW server_version')"
