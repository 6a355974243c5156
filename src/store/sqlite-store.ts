import { Logger, OnApplicationShutdown } from '@nestjs/common';
import Database, { Statement } from 'better-sqlite3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Migration, MIGRATIONS } from './migrations';
import { RunResult, SqlDialect, SqlStore, SqlTransaction, SqlValue } from './sql-store';

export const DATABASE_FILE = 'claudecode-api.sqlite';

const BUSY_TIMEOUT_MS = 5000;

const SQLITE_DIALECT: SqlDialect = {
  engine: 'sqlite',
  jsonText: (column, key) => `json_extract(${column}, '$.${key}')`,
};

/**
 * The embedded store, the default: `<dataDir>/claudecode-api.sqlite`, opened and migrated when it
 * is built (so a broken store stops the boot) and closed on shutdown. better-sqlite3 runs each
 * statement synchronously; transactions take turns, and a statement issued through the store
 * while one is open waits for its end, so it is never committed or rolled back with another
 * caller's work.
 */
export class SqliteStore extends SqlStore implements OnApplicationShutdown {
  readonly dialect = SQLITE_DIALECT;
  readonly db: Database.Database;
  private readonly logger = new Logger(SqliteStore.name);
  private readonly statements = new Map<string, Statement<SqlValue[]>>();
  /** Settles when the last transaction begun (or queued) has ended. */
  private transactionsDone: Promise<void> = Promise.resolve();
  /** Transactions open or queued: while there are any, statements outside them wait. */
  private transactionsPending = 0;
  /** The transaction whose work is running, as its work sees it. */
  private readonly inTransaction = new AsyncLocalStorage<{ open: boolean }>();

  constructor(dataDir: string) {
    super();
    mkdirSync(dataDir, { recursive: true });
    this.db = openDatabase(join(dataDir, DATABASE_FILE));
    const applied = applyMigrations(this.db, MIGRATIONS);
    if (applied.length > 0) {
      this.logger.log(`Applied store migrations ${applied.join(', ')}`);
    }
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return this.outsideTransactions(() => this.runNow(sql, params));
  }

  get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.outsideTransactions(() => this.getNow<Row>(sql, params));
  }

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.outsideTransactions(() => this.allNow<Row>(sql, params));
  }

  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const before = this.transactionsDone;
    let done!: () => void;
    this.transactionsDone = new Promise((resolve) => (done = resolve));
    this.transactionsPending += 1;
    try {
      await before;
      return await this.runTransaction(work);
    } finally {
      this.transactionsPending -= 1;
      done();
    }
  }

  // The last hook of a shutdown: runs that are stopped during it are still recorded.
  async onApplicationShutdown(): Promise<void> {
    await this.transactionsDone;
    if (this.db.open) this.db.close();
  }

  private async runTransaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const state = { open: true };
    const inside = <T>(statement: () => T): Promise<T> =>
      settled(() => {
        if (!state.open) throw new Error('A statement was issued on a transaction that has ended');
        return statement();
      });
    const tx: SqlTransaction = {
      run: (sql, params = []) => inside(() => this.runNow(sql, params)),
      get: <Row>(sql: string, params: readonly SqlValue[] = []) =>
        inside(() => this.getNow<Row>(sql, params)),
      all: <Row>(sql: string, params: readonly SqlValue[] = []) =>
        inside(() => this.allNow<Row>(sql, params)),
      // Transactions here run one at a time already.
      lock: () => inside(() => undefined),
    };
    // IMMEDIATE takes the write lock at once, so the transaction never fails half-way for it.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await this.inTransaction.run(state, () => work(tx));
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    } finally {
      state.open = false;
    }
  }

  /**
   * Runs the statement at once when no transaction is open or queued (so statements run in the
   * order they were issued), else once they have all ended.
   */
  private outsideTransactions<T>(statement: () => T): Promise<T> {
    if (this.transactionsPending === 0) return settled(statement);
    // It would wait for the end of the very transaction it is part of: a bug, told at once.
    if (this.inTransaction.getStore()?.open) {
      return Promise.reject(
        new Error('A transaction issued a statement through the store instead of through its tx'),
      );
    }
    return this.transactionsDone.then(() => this.outsideTransactions(statement));
  }

  private runNow(sql: string, params: readonly SqlValue[]): RunResult {
    return { changes: this.statement(sql).run(...params).changes };
  }

  private getNow<Row>(sql: string, params: readonly SqlValue[]): Row | undefined {
    return this.statement(sql).get(...params) as Row | undefined;
  }

  private allNow<Row>(sql: string, params: readonly SqlValue[]): Row[] {
    return this.statement(sql).all(...params) as Row[];
  }

  /** The statement of an SQL text, prepared once: the run paths run theirs per CLI line. */
  private statement(sql: string): Statement<SqlValue[]> {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare<SqlValue[]>(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }
}

/** The statement's result, or its error, as a promise (the statement runs at once). */
// eslint-disable-next-line @typescript-eslint/require-await
async function settled<T>(statement: () => T): Promise<T> {
  return statement();
}

export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // With WAL, NORMAL never corrupts the store and skips an fsync per commit, which would
  // otherwise stall the event loop while runs record their events.
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Applies the migrations the database has not seen yet, each in its own transaction together
 * with its row in `schema_migrations`. Returns the versions it applied.
 */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[]): number[] {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    );
  `);
  const isApplied = db.prepare<[number], { version: number }>(
    'SELECT version FROM schema_migrations WHERE version = ?',
  );
  const record = db.prepare<[number, string, string]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    // IMMEDIATE takes the write lock first, so two processes never apply one step twice.
    const ran = db
      .transaction(() => {
        if (isApplied.get(migration.version)) return false;
        db.exec(migration.up);
        record.run(migration.version, migration.name, new Date().toISOString());
        return true;
      })
      .immediate();
    if (ran) applied.push(migration.version);
  }
  return applied;
}
