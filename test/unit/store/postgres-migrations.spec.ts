import { MIGRATIONS } from '../../../src/store/migrations';
import { POSTGRES_MIGRATIONS, postgresSchemaSql } from '../../../src/store/postgres-migrations';

describe('the PostgreSQL migrations', () => {
  // A step on one engine only would leave the other's databases behind.
  it('are the SQLite ones step for step: the same versions and names, in order', () => {
    const steps = (migrations: typeof MIGRATIONS) =>
      migrations.map(({ version, name }) => ({ version, name }));
    expect(steps(POSTGRES_MIGRATIONS)).toEqual(steps(MIGRATIONS));
  });

  it('widen INTEGER to BIGINT and REAL to DOUBLE PRECISION, and keep the rest', () => {
    expect(
      postgresSchemaSql({
        version: 1,
        name: 'example',
        up: `CREATE TABLE t (n INTEGER NOT NULL DEFAULT 0, cost REAL NULL, integers TEXT);
             CREATE INDEX t_by_n ON t (n DESC);`,
      }),
    ).toBe(
      `CREATE TABLE t (n BIGINT NOT NULL DEFAULT 0, cost DOUBLE PRECISION NULL, integers TEXT);
             CREATE INDEX t_by_n ON t (n DESC);`,
    );
  });

  it.each([
    'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)',
    'CREATE TABLE t (id TEXT PRIMARY KEY) WITHOUT ROWID',
    "INSERT OR IGNORE INTO t (id) VALUES ('a')",
    'CREATE TABLE t (data BLOB)',
    "UPDATE t SET at = datetime('now')",
    "CREATE INDEX t_kind ON t (json_extract(data, '$.kind'))",
  ])('refuse a step in SQLite-only SQL, naming it: %s', (up) => {
    expect(() => postgresSchemaSql({ version: 7, name: 'sqlite only', up })).toThrow(
      /^Store migration 7 \(sqlite only\) uses .+, which PostgreSQL does not share/,
    );
  });
});
