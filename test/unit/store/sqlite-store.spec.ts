import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migration, MIGRATIONS } from '../../../src/store/migrations';
import {
  applyMigrations,
  DATABASE_FILE,
  openDatabase,
  SqliteStore,
} from '../../../src/store/sqlite-store';

describe('the embedded store', () => {
  let dataDir: string;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'cca-store-')), 'nested', 'data');
  });

  afterEach(() => {
    rmSync(join(dataDir, '..', '..'), { recursive: true, force: true });
  });

  function open(): SqliteStore {
    return new SqliteStore(dataDir);
  }

  function versions(db: Database.Database): number[] {
    return db
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((row) => row.version);
  }

  it('creates the folder and applies every migration to a fresh database, in WAL mode', async () => {
    const store = open();
    expect(versions(store.db)).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(Number(store.db.pragma('busy_timeout', { simple: true }))).toBeGreaterThan(0);
    const columns = store.db
      .prepare<[], { name: string; pk: number }>(
        "SELECT name, pk FROM pragma_table_info('sessions')",
      )
      .all();
    expect(columns.slice(0, 4)).toEqual([
      { name: 'id', pk: 2 },
      { name: 'env', pk: 1 },
      { name: 'title', pk: 0 },
      { name: 'created_at', pk: 0 },
    ]);
    expect(columns.map((column) => column.name)).toEqual(
      expect.arrayContaining(['reserved', 'updated_at', 'transcript_size', 'read_state']),
    );
    await store.onApplicationShutdown();
    expect(store.db.open).toBe(false);
  });

  it('applies nothing again when it is opened a second time, and keeps the data', async () => {
    const first = open();
    await first.run(
      "INSERT INTO sessions (id, env, title, created_at) VALUES ('a', 'dev', NULL, 'now')",
    );
    await first.onApplicationShutdown();

    const db = openDatabase(join(dataDir, DATABASE_FILE));
    expect(applyMigrations(db, MIGRATIONS)).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM sessions').get()).toEqual({ n: 1 });
    db.close();
  });

  it('keeps reservations made before the sessions index as reserved sessions', () => {
    mkdirSync(dataDir, { recursive: true });
    const db = openDatabase(join(dataDir, DATABASE_FILE));
    applyMigrations(db, MIGRATIONS.slice(0, 2));
    db.prepare(
      "INSERT INTO sessions (id, env, title, created_at) VALUES ('a', 'dev', 'Kept', '2026-01-01T00:00:00.000Z')",
    ).run();
    expect(applyMigrations(db, MIGRATIONS.slice(0, 3))).toEqual([3]);
    expect(
      db.prepare('SELECT reserved, title, updated_at, transcript_size FROM sessions').get(),
    ).toEqual({
      reserved: 1,
      title: 'Kept',
      updated_at: '2026-01-01T00:00:00.000Z',
      transcript_size: null,
    });
    db.close();
  });

  it('applies only the migrations added since the last boot, in version order', async () => {
    await open().onApplicationShutdown();
    const next = MIGRATIONS.length + 1;
    const later: Migration[] = [
      { version: next + 1, name: 'second', up: 'CREATE TABLE second (id INTEGER);' },
      { version: next, name: 'first', up: 'CREATE TABLE first (id INTEGER);' },
    ];
    const db = openDatabase(join(dataDir, DATABASE_FILE));
    expect(applyMigrations(db, [...MIGRATIONS, ...later])).toEqual([next, next + 1]);
    expect(applyMigrations(db, [...MIGRATIONS, ...later])).toEqual([]);
    expect(versions(db)).toEqual([...MIGRATIONS.map((m) => m.version), next, next + 1]);
    db.close();
  });

  it('rolls a failing migration back completely and records nothing for it', async () => {
    await open().onApplicationShutdown();
    const db = openDatabase(join(dataDir, DATABASE_FILE));
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      up: 'CREATE TABLE half (id INTEGER); THIS IS NOT SQL;',
    };
    expect(() => applyMigrations(db, [...MIGRATIONS, broken])).toThrow();
    expect(versions(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'half'").get(),
    ).toBeUndefined();
    db.close();
  });

  it('refuses, rather than waits forever, a statement a transaction issues through the store', async () => {
    const store = open();
    const misused = store.transaction(async (tx) => {
      await tx.run("INSERT INTO session_scans (env, scanned_at) VALUES ('a', 'now')");
      await store.run("INSERT INTO session_scans (env, scanned_at) VALUES ('b', 'now')");
    });
    await expect(misused).rejects.toThrow('instead of through its tx');
    // Rolled back whole; and the store goes on.
    expect(await store.all('SELECT env FROM session_scans')).toEqual([]);
    await store.onApplicationShutdown();
  });
});
