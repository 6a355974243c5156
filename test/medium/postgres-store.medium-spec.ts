import Database from 'better-sqlite3';
import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Client, Pool } from 'pg';
import { applyMigrations } from '../../src/store/sqlite-store';
import { MIGRATIONS } from '../../src/store/migrations';
import {
  applyPostgresMigrations,
  MIGRATION_LOCK,
  POSTGRES_MIGRATIONS,
} from '../../src/store/postgres-migrations';
import {
  createPostgresStore,
  DatabaseUnavailableError,
  PostgresStore,
} from '../../src/store/postgres-store';
import { SqlTransaction } from '../../src/store/sql-store';
import {
  createTestDatabase,
  makePostgresStore,
  silentLogger,
  TEST_DATABASE_URL,
  TestDatabase,
} from '../support/postgres';
import { sleep, waitUntil } from '../support/wait';

// The store's semantics against the real server of scripts/ensure-postgres.sh (TEST_DATABASE_URL),
// in a database of this file's own.
describe('PostgresStore', () => {
  let database: TestDatabase;
  let store: PostgresStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await createPostgresStore(database.config, silentLogger);
    await store.run(`
      CREATE TABLE items (
        id TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        cost DOUBLE PRECISION NULL,
        note TEXT NULL,
        meta TEXT NULL
      )
    `);
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    await store.run('DELETE FROM items');
  });

  const insert = (executor: Pick<PostgresStore, 'run'>, id: string, size = 1) =>
    executor.run('INSERT INTO items (id, size) VALUES (?, ?)', [id, size]);

  it('numbers ? placeholders in order, leaving those in literals, identifiers and comments', async () => {
    await store.run(
      `INSERT INTO items (id, size, note, meta) -- the note's '?' is text
       VALUES (?, ?, 'it''s ? here', /* ? */ ?)`,
      ['a', 7, '{"who":"?"}'],
    );
    expect(
      await store.get('SELECT id, size, note, meta AS "m?" FROM items WHERE id = ?', ['a']),
    ).toEqual({ id: 'a', size: 7, note: "it's ? here", 'm?': '{"who":"?"}' });
  });

  it('reports the rows each statement changed, a missing row as undefined and no rows as []', async () => {
    expect(await insert(store, 'a')).toEqual({ changes: 1 });
    await insert(store, 'b');
    expect(await store.run('UPDATE items SET note = ?', ['n'])).toEqual({ changes: 2 });
    expect(await store.run('DELETE FROM items WHERE id = ?', ['none'])).toEqual({ changes: 0 });
    expect(await store.get('SELECT id FROM items WHERE id = ?', ['none'])).toBeUndefined();
    expect(await store.all('SELECT id FROM items WHERE id = ?', ['none'])).toEqual([]);
    expect(await store.all('SELECT id, note FROM items ORDER BY id')).toEqual([
      { id: 'a', note: 'n' },
      { id: 'b', note: 'n' },
    ]);
  });

  it('gives BIGINT values, counts, sums and averages as JS numbers', async () => {
    const pastInt32 = 2 ** 40 + 1;
    await insert(store, 'a', pastInt32);
    await insert(store, 'b', 1);
    await store.run('UPDATE items SET cost = ? WHERE id = ?', [0.25, 'a']);
    expect(await store.get('SELECT size, cost FROM items WHERE id = ?', ['a'])).toEqual({
      size: pastInt32,
      cost: 0.25,
    });
    expect(
      await store.get(
        'SELECT COUNT(*) AS n, SUM(size) AS total, AVG(size) AS mean, SUM(cost) AS spent FROM items',
      ),
    ).toEqual({ n: 2, total: pastInt32 + 1, mean: (pastInt32 + 1) / 2, spent: 0.25 });
  });

  it('refuses a BIGINT past 2^53 rather than giving a wrong number', async () => {
    await insert(store, 'a', 0);
    await store.run(`UPDATE items SET size = 9007199254740993 WHERE id = ?`, ['a']);
    await expect(store.get('SELECT size FROM items')).rejects.toThrow(
      'BIGINT 9007199254740993 is past 2^53',
    );
  });

  it('reads a top-level text of a JSON column through the dialect', async () => {
    await insert(store, 'a');
    await insert(store, 'b');
    await store.run('UPDATE items SET meta = ? WHERE id = ?', ['{"kind":"run","n":1}', 'a']);
    await store.run('UPDATE items SET meta = ? WHERE id = ?', ['{"kind":"ask"}', 'b']);
    const kind = store.dialect.jsonText('meta', 'kind');
    expect(
      await store.all(`SELECT id, ${kind} AS kind FROM items WHERE ${kind} = ?`, ['run']),
    ).toEqual([{ id: 'a', kind: 'run' }]);
    expect(() => store.dialect.jsonText('meta', "kind' OR '1")).toThrow('Not a plain JSON key');
  });

  describe('transactions', () => {
    it('commit what they did when the work resolves', async () => {
      const answer = await store.transaction(async (tx) => {
        await insert(tx, 'a');
        await insert(tx, 'b');
        return (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM items'))?.n;
      });
      expect(answer).toBe(2);
      expect(await store.all('SELECT id FROM items ORDER BY id')).toEqual([
        { id: 'a' },
        { id: 'b' },
      ]);
    });

    it('roll everything back and rethrow when the work throws', async () => {
      await insert(store, 'kept');
      const failure = new Error('the work failed');
      await expect(
        store.transaction(async (tx) => {
          await insert(tx, 'a');
          await tx.run('DELETE FROM items WHERE id = ?', ['kept']);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await store.all('SELECT id FROM items')).toEqual([{ id: 'kept' }]);
    });

    it('roll back when a statement fails, and the store goes on', async () => {
      await expect(
        store.transaction(async (tx) => {
          await insert(tx, 'a');
          await insert(tx, 'a');
        }),
      ).rejects.toThrow('duplicate key');
      expect(await store.all('SELECT id FROM items')).toEqual([]);
      await insert(store, 'after');
      expect(await store.all('SELECT id FROM items')).toEqual([{ id: 'after' }]);
    });

    it('refuse a statement once they have ended', async () => {
      let leaked: SqlTransaction | undefined;
      await store.transaction((tx) => {
        leaked = tx;
        return Promise.resolve();
      });
      await expect(insert(leaked!, 'late')).rejects.toThrow('transaction that has ended');
      expect(await store.all('SELECT id FROM items')).toEqual([]);
    });

    it('that lock one name run one after the other; other names do not wait', async () => {
      await insert(store, 'counter', 0);
      const order: string[] = [];
      let releaseFirst!: () => void;
      const firstMayGoOn = new Promise<void>((resolve) => (releaseFirst = resolve));
      let firstLocked!: () => void;
      const firstHasLock = new Promise<void>((resolve) => (firstLocked = resolve));

      // Each reads the counter and writes it back one higher: without the lock, the second
      // would read the first's value before it commits, and one increment would be lost.
      const increment = async (tx: SqlTransaction, who: string) => {
        const row = await tx.get<{ size: number }>('SELECT size FROM items WHERE id = ?', [
          'counter',
        ]);
        await tx.run('UPDATE items SET size = ? WHERE id = ?', [row!.size + 1, 'counter']);
        order.push(who);
      };
      const first = store.transaction(async (tx) => {
        await tx.lock('counter');
        firstLocked();
        await firstMayGoOn;
        await increment(tx, 'first');
      });
      await firstHasLock;
      const second = store.transaction(async (tx) => {
        await tx.lock('counter');
        await increment(tx, 'second');
      });
      try {
        await waitUntil(
          async () => (await waitingAdvisoryLocks(store)) === 1,
          'the second to wait',
        );
        // Another name is not held up by either.
        await store.transaction(async (tx) => {
          await tx.lock('another name');
          order.push('other');
        });
        expect(order).toEqual(['other']);
      } finally {
        // Should the above fail, the first still ends, and the store can close.
        releaseFirst();
        await Promise.allSettled([first, second]);
      }
      expect(order).toEqual(['other', 'first', 'second']);
      expect(await store.get('SELECT size FROM items WHERE id = ?', ['counter'])).toEqual({
        size: 2,
      });
    });
  });
});

describe('PostgresStore migrations', () => {
  it('are applied once when two replicas boot together on a fresh database', async () => {
    const database = await createTestDatabase();
    const pools = [
      new Pool({ connectionString: database.url }),
      new Pool({ connectionString: database.url }),
    ];
    // pool.end() does not wait for its sockets to close: the drop may end a connection still
    // closing, whose error would otherwise be unhandled. (PostgresStore's pool logs them.)
    pools.forEach((pool) => pool.on('error', () => undefined));
    try {
      const applied = await Promise.all(
        pools.map((pool) => applyPostgresMigrations(pool, POSTGRES_MIGRATIONS)),
      );
      const all = POSTGRES_MIGRATIONS.map((migration) => migration.version);
      expect(applied.flat().sort((a, b) => a - b)).toEqual(all);
      expect(applied).toContainEqual(all);
      const stores = await Promise.all([
        createPostgresStore(database.config, silentLogger),
        createPostgresStore(database.config, silentLogger),
      ]);
      await Promise.all(stores.map((store) => store.close()));
      const rows = await queryRows<{ version: number; name: string }>(
        database.url,
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map(({ version, name }) => ({ version, name })));
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
      await database.drop();
    }
  });

  it('stop a boot that waits past the deadline for a session holding the lock, and go on once it is let go', async () => {
    const database = await createTestDatabase();
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    const pool = new Pool({ connectionString: database.url });
    pool.on('error', () => undefined);
    const lock = (fn: string) =>
      holder.query(`SELECT ${fn}(hashtextextended($1, 0))`, [MIGRATION_LOCK]);
    try {
      await lock('pg_advisory_lock');
      await expect(applyPostgresMigrations(pool, POSTGRES_MIGRATIONS, 500)).rejects.toThrow(
        `another session has held the migration lock ("${MIGRATION_LOCK}") for over 500 ms`,
      );
      const waiting = applyPostgresMigrations(pool, POSTGRES_MIGRATIONS, 60_000);
      await sleep(300);
      await lock('pg_advisory_unlock');
      await expect(waiting).resolves.toEqual(POSTGRES_MIGRATIONS.map(({ version }) => version));
    } finally {
      await holder.end();
      await pool.end();
      await database.drop();
    }
  });

  it('build the tables, columns and indexes the SQLite migrations build', async () => {
    const database = await createTestDatabase();
    const sqlite = new Database(':memory:');
    try {
      const store = await createPostgresStore(database.config, silentLogger);
      await store.close();
      applyMigrations(sqlite, MIGRATIONS);
      const sqliteColumns = sqlite
        .prepare<[], { table: string; column: string }>(
          `SELECT m.name AS "table", c.name AS "column"
           FROM sqlite_master m JOIN pragma_table_info(m.name) c
           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           ORDER BY m.name, c.cid`,
        )
        .all();
      const postgresColumns = await queryRows<{ table: string; column: string }>(
        database.url,
        `SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
      );
      expect(postgresColumns).toEqual(sqliteColumns);
      const sqliteIndexes = sqlite
        .prepare<[], { name: string }>(
          `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`,
        )
        .all();
      const postgresIndexes = await queryRows<{ name: string }>(
        database.url,
        `SELECT i.relname AS name FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
         WHERE n.nspname = current_schema() AND NOT x.indisprimary AND NOT x.indisunique
         ORDER BY i.relname`,
      );
      expect(postgresIndexes).toEqual(sqliteIndexes);
    } finally {
      sqlite.close();
      await database.drop();
    }
  });
});

describe('createPostgresStore', () => {
  const PASSWORD = 'not-the-password-s3cret';

  function withPassword(url: string, port?: number): string {
    const withSecret = new URL(url);
    withSecret.password = PASSWORD;
    if (port !== undefined) withSecret.port = String(port);
    return withSecret.toString();
  }

  async function bootError(url: string, connectTimeoutMs = 5000): Promise<Error> {
    const config = { engine: 'postgres', url, poolSize: 2, connectTimeoutMs } as const;
    const failure = await createPostgresStore(config, silentLogger).then(
      (store) => store.close().then(() => new Error('expected the boot to fail')),
      (error: Error) => error,
    );
    expect(failure).toBeInstanceOf(DatabaseUnavailableError);
    expect(failure.message).not.toContain(PASSWORD);
    return failure;
  }

  it('closes its connections at shutdown, and a second close does nothing', async () => {
    const { store, close } = await makePostgresStore();
    try {
      expect(await store.get('SELECT 1 AS one')).toEqual({ one: 1 });
      await store.onApplicationShutdown();
      await expect(store.get('SELECT 1 AS one')).rejects.toThrow('after calling end');
    } finally {
      await close();
    }
  });

  // These boots point at the server's own database, or at nothing: they never change anything.
  it('stops the boot naming the database, not its password, when nothing listens', async () => {
    const closedPort = await unusedPort();
    const failure = await bootError(withPassword(TEST_DATABASE_URL, closedPort));
    expect(failure.message).toBe(
      `The PostgreSQL store at postgres://claudecode_test:***@127.0.0.1:${closedPort}/claudecode_test is unusable: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    );
  });

  it('stops the boot when the server refuses the password', async () => {
    const failure = await bootError(withPassword(TEST_DATABASE_URL));
    expect(failure.message).toMatch(/is unusable: password authentication failed for user/);
  });

  it('gives up at the connect deadline on a server that never answers', async () => {
    const silent = await silentServer();
    try {
      const failure = await bootError(withPassword(TEST_DATABASE_URL, silent.port), 300);
      expect(failure.message).toMatch(/is unusable: .*timeout/i);
    } finally {
      await silent.close();
    }
  });
});

async function queryRows<Row>(url: string, sql: string): Promise<Row[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** Advisory locks some session is waiting for in the store's database. */
async function waitingAdvisoryLocks(store: PostgresStore): Promise<number> {
  const row = await store.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM pg_locks
     WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return row!.n;
}

/** A loopback port nothing listens on (taken, then given back). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A loopback server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}
