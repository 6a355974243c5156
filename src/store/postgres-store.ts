import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, PoolClient, QueryResultRow, TypeOverrides, types } from 'pg';
import { DatabaseConfig, redactDatabaseUrl } from '../common/config/database-config';
import { applyPostgresMigrations, POSTGRES_MIGRATIONS } from './postgres-migrations';
import {
  RunResult,
  SqlDialect,
  SqlExecutor,
  SqlStore,
  SqlTransaction,
  SqlValue,
} from './sql-store';

export type PostgresConfig = Extract<DatabaseConfig, { engine: 'postgres' }>;

/** The store could not reach its database, or could not prepare it, at boot. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

const POSTGRES_DIALECT: SqlDialect = {
  engine: 'postgres',
  jsonText: (column, key) => `(${column}::jsonb ->> '${jsonKey(key)}')`,
};

/**
 * The store on a PostgreSQL database shared by every replica (`DATABASE_URL`). Statements are
 * written with `?` placeholders, as for SQLite, and numbered here; integers of every width and
 * numerics come back as JS numbers, as SQLite's do.
 */
export class PostgresStore extends SqlStore implements OnApplicationShutdown {
  readonly dialect = POSTGRES_DIALECT;
  private readonly executor: PostgresExecutor;

  constructor(private readonly pool: Pool) {
    super();
    this.executor = new PostgresExecutor(pool);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.executor.run(sql, params);
  }

  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined> {
    return this.executor.get<Row>(sql, params);
  }

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.executor.all<Row>(sql, params);
  }

  /** On a connection of its own, held from BEGIN to COMMIT or ROLLBACK. */
  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PostgresTransaction(client);
    // A connection whose ROLLBACK failed may still be inside the transaction: it is dropped.
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      tx.end();
      client.release(broken);
    }
  }

  /** Closes every connection; statements still running finish first. */
  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  // The last hook of a shutdown: runs that are stopped during it are still recorded.
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

/**
 * Opens the pool of `config`, checks that the database answers and applies the migrations it has
 * not seen, so a database that is unreachable or cannot be prepared stops the boot with a
 * `DatabaseUnavailableError` that names the database without its password.
 */
export async function createPostgresStore(
  config: PostgresConfig,
  logger: Pick<Logger, 'log' | 'warn'> = new Logger(PostgresStore.name),
): Promise<PostgresStore> {
  const pool = new Pool({
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: 'claudecode-api',
    types: numericTypes(),
  });
  // A connection that dies while idle (a restarted server) is dropped by the pool; without a
  // listener its error would end the process.
  pool.on('error', (error) =>
    logger.warn(`An idle PostgreSQL connection failed: ${error.message}`),
  );
  const store = new PostgresStore(pool);
  try {
    const applied = await applyPostgresMigrations(pool, POSTGRES_MIGRATIONS);
    if (applied.length > 0) logger.log(`Applied store migrations ${applied.join(', ')}`);
    return store;
  } catch (error) {
    await store.close().catch(() => undefined);
    // Only the driver's message: its error object may carry connection details. (Node's socket
    // errors are not always `instanceof Error` here, as under jest: their message is read as is.)
    const message = (error as { message?: unknown } | null)?.message;
    const reason = typeof message === 'string' ? message : String(error);
    throw new DatabaseUnavailableError(
      `The PostgreSQL store at ${redactDatabaseUrl(config.url)} is unusable: ${reason}`,
    );
  }
}

class PostgresExecutor implements SqlExecutor {
  constructor(private readonly target: Pool | PoolClient) {}

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    const result = await this.query(sql, params);
    return { changes: result.rowCount ?? 0 };
  }

  async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    const result = await this.query(sql, params);
    return result.rows[0] as Row | undefined;
  }

  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const result = await this.query(sql, params);
    return result.rows as Row[];
  }

  protected query(sql: string, params: readonly SqlValue[]) {
    return this.target.query<QueryResultRow>(numberPlaceholders(sql), [...params]);
  }
}

class PostgresTransaction extends PostgresExecutor implements SqlTransaction {
  private ended = false;

  constructor(client: PoolClient) {
    super(client);
  }

  async lock(name: string): Promise<void> {
    await this.query('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [name]);
  }

  end(): void {
    this.ended = true;
  }

  // Its connection goes back to the pool at the end: a late statement would run outside it.
  protected override query(sql: string, params: readonly SqlValue[]) {
    if (this.ended) {
      return Promise.reject(new Error('A statement was run on a transaction that has ended'));
    }
    return super.query(sql, params);
  }
}

/**
 * `?` → `$1`, `$2`… in order, outside quoted strings, quoted identifiers and comments. (The
 * jsonb operators `?`, `?|` and `?&` cannot be written; `jsonb_exists` and friends do the same.)
 */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let count = 0;
  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    const end = skipQuotedOrComment(sql, i);
    if (end > i) {
      out += sql.slice(i, end);
      i = end;
    } else if (char === '?') {
      out += `$${++count}`;
      i += 1;
    } else {
      out += char;
      i += 1;
    }
  }
  return out;
}

/** The index just past the literal or comment starting at `start`, or `start` if none does. */
function skipQuotedOrComment(sql: string, start: number): number {
  const char = sql[start];
  if (char === "'" || char === '"') {
    // A doubled quote inside is an escaped one; an unclosed literal runs to the end.
    let i = start + 1;
    while (i < sql.length) {
      if (sql[i] === char) {
        if (sql[i + 1] === char) i += 2;
        else return i + 1;
      } else i += 1;
    }
    return sql.length;
  }
  if (sql.startsWith('--', start)) {
    const newline = sql.indexOf('\n', start);
    return newline === -1 ? sql.length : newline + 1;
  }
  if (sql.startsWith('/*', start)) {
    const close = sql.indexOf('*/', start + 2);
    return close === -1 ? sql.length : close + 2;
  }
  return start;
}

/** A JSON key as a string literal's content; only plain names, as the store's keys are. */
function jsonKey(key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`Not a plain JSON key: ${key}`);
  return key;
}

/**
 * This pool's parsers: BIGINT, COUNT(*) and NUMERIC (SUM, AVG) as JS numbers, as SQLite gives
 * them, rather than pg's strings. Only for this pool: pg's global parsers stay as they are.
 */
function numericTypes(): TypeOverrides {
  const overrides = new TypeOverrides();
  overrides.setTypeParser(types.builtins.INT8, (text: string) => {
    const value = Number(text);
    // Millisecond times and byte counts are far below 2^53; past it a number would be wrong.
    if (!Number.isSafeInteger(value)) throw new Error(`BIGINT ${text} is past 2^53`);
    return value;
  });
  overrides.setTypeParser(types.builtins.NUMERIC, (text: string) => Number(text));
  return overrides;
}
