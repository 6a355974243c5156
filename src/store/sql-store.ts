/**
 * The store's one door to SQL, whatever engine is behind it: the embedded SQLite file (the
 * default) or PostgreSQL (`DATABASE_URL`). Repositories write their statements once, with `?`
 * placeholders, and run them through this; the few spots where the two dialects differ go
 * through `dialect`. Every call is asynchronous, as a networked engine needs.
 */

/** A value bound to a placeholder. Booleans are stored as 0/1, times as ISO-8601 text. */
export type SqlValue = string | number | null;

export interface RunResult {
  /** Rows inserted, changed or deleted. */
  changes: number;
}

/** Runs statements. Integers come back as JS numbers on both engines (64-bit ones too). */
export interface SqlExecutor {
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
}

/** Statements inside one transaction. */
export interface SqlTransaction extends SqlExecutor {
  /**
   * Holds a lock named `name` until the transaction ends, so transactions that take the same name
   * run one after the other (PostgreSQL: an advisory transaction lock; SQLite's transactions are
   * serialized anyway).
   */
  lock(name: string): Promise<void>;
}

/** Where the two engines' SQL differs. */
export interface SqlDialect {
  readonly engine: 'sqlite' | 'postgres';
  /** An expression for the text at top-level `key` of a JSON object stored as text in `column`. */
  jsonText(column: string, key: string): string;
}

export abstract class SqlStore implements SqlExecutor {
  abstract readonly dialect: SqlDialect;
  abstract run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  abstract get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  abstract all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Statements of the transaction go through `tx`, never through the store itself.
   */
  abstract transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
}
