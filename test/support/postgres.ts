import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresConfig, createPostgresStore, PostgresStore } from '../../src/store/postgres-store';

/**
 * The tests' PostgreSQL: the role and database scripts/ensure-postgres.sh sets up, unless
 * TEST_DATABASE_URL names another. The role may create databases: each store gets a fresh one.
 */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ??
  'postgres://claudecode_test:claudecode_test@127.0.0.1:5432/claudecode_test';

export interface TestDatabase {
  /** The URL of the fresh database, with the test role's credentials. */
  readonly url: string;
  readonly config: PostgresConfig;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** A database of its own, with a unique name, on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `cca_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    config: { engine: 'postgres', url: url.toString(), poolSize: 4, connectTimeoutMs: 5000 },
    drop: () => dropDatabase(name),
  };
}

/** A migrated PostgresStore on a fresh database; `close` closes it and drops the database. */
export async function makePostgresStore(): Promise<{
  store: PostgresStore;
  close: () => Promise<void>;
}> {
  const database = await createTestDatabase();
  try {
    const store = await createPostgresStore(database.config, silentLogger);
    return {
      store,
      close: async () => {
        await store.close();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

/** A logger for stores under test, which would otherwise log each boot's migrations. */
export const silentLogger = { log: () => undefined, warn: () => undefined };

/**
 * Drops a test database, ending whatever of ours is still connected to it (a killed replica's
 * pool, say). Not `WITH (FORCE)`: for a role that is not a superuser that refuses to end an
 * autovacuum worker busy in the database ("must be a member of the role whose process is being
 * terminated"), whereas a plain drop cancels such workers itself, and waits up to 5 s for the
 * sessions ended here to go.
 */
async function dropDatabase(name: string): Promise<void> {
  await onServer(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity ' +
      'WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()',
    [name],
  );
  await onServer(`DROP DATABASE IF EXISTS ${name}`);
}

/** Runs one statement on the test server's own database. A server that is down fails loudly. */
async function onServer(sql: string, values: unknown[] = []): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `The tests' PostgreSQL is unreachable (${(error as Error).message}): run scripts/ensure-postgres.sh, or set TEST_DATABASE_URL`,
    );
  }
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}
