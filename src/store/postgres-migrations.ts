import { Pool, PoolClient } from 'pg';
import { Migration, MIGRATIONS } from './migrations';

/** SQLite's words that PostgreSQL does not share (or means otherwise). */
const SQLITE_ONLY =
  /\b(AUTOINCREMENT|WITHOUT\s+ROWID|PRAGMA|OR\s+(IGNORE|REPLACE|ABORT|FAIL|ROLLBACK)|BLOB|GLOB|json_\w+|datetime|strftime|julianday|unixepoch)\b/i;

/**
 * The schema in PostgreSQL's words: each step of `MIGRATIONS` (migrations.ts), with the same
 * version and name, so a database of either engine at version n holds the same tables. The
 * steps are written in the SQL both engines share; only the column types differ: SQLite's
 * INTEGER is 64-bit, so BIGINT (millisecond times and byte counts pass 2^31), and REAL is
 * DOUBLE PRECISION. A step that needs more than that fails here, at load, rather than at a boot
 * on PostgreSQL.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = MIGRATIONS.map((migration) => ({
  ...migration,
  up: postgresSchemaSql(migration),
}));

export function postgresSchemaSql({ version, name, up }: Migration): string {
  const sqliteOnly = SQLITE_ONLY.exec(up);
  if (sqliteOnly) {
    throw new Error(
      `Store migration ${version} (${name}) uses ${sqliteOnly[0]}, which PostgreSQL does not share: write it in SQL both engines run`,
    );
  }
  return up.replace(/\bINTEGER\b/g, 'BIGINT').replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}

/** The session lock every replica takes before it migrates: one applies a step, the rest wait. */
export const MIGRATION_LOCK = 'claudecode-api schema migrations';

/**
 * How long a boot waits for that lock. Our steps take milliseconds, so a lock held this long is
 * a stuck session, and the boot stops saying so instead of hanging.
 */
const MIGRATION_LOCK_WAIT_MS = 120_000;
const MIGRATION_LOCK_POLL_MS = 250;

/**
 * Applies the migrations the database has not seen yet, each in its own transaction together
 * with its row in `schema_migrations`, under a session advisory lock, so replicas that boot
 * together apply each step once. Returns the versions it applied.
 */
export async function applyPostgresMigrations(
  pool: Pool,
  migrations: readonly Migration[],
  lockWaitMs = MIGRATION_LOCK_WAIT_MS,
): Promise<number[]> {
  const client = await pool.connect();
  // A connection that may still hold the lock or a transaction is closed, not reused.
  let broken: Error | undefined;
  try {
    await takeMigrationLock(client, lockWaitMs);
    try {
      return await applyPending(client, migrations);
    } finally {
      await client
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [MIGRATION_LOCK])
        .catch((error: Error) => {
          broken = error;
        });
    }
  } finally {
    client.release(broken);
  }
}

/** Tries the lock until it is free, or throws once `waitMs` have passed. */
async function takeMigrationLock(client: PoolClient, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await client.query<{ taken: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS taken',
      [MIGRATION_LOCK],
    );
    if (rows[0]?.taken) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `another session has held the migration lock ("${MIGRATION_LOCK}") for over ${waitMs} ms: a replica still migrating, or a session left holding it (see pg_locks)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
  }
}

async function applyPending(client: PoolClient, migrations: readonly Migration[]) {
  await client.query(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    );
  `);
  const seen = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  const done = new Set(seen.rows.map((row) => row.version));
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    await client.query('BEGIN');
    try {
      await client.query(migration.up);
      await client.query(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [migration.version, migration.name, new Date().toISOString()],
      );
      await client.query('COMMIT');
    } catch (error) {
      // Should the ROLLBACK fail too, the unlock fails after it and the connection is closed.
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    applied.push(migration.version);
  }
  return applied;
}
