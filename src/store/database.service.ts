import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Database, { Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { Migration, MIGRATIONS } from './migrations';

export const DATABASE_FILE = 'claudecode-api.sqlite';

const BUSY_TIMEOUT_MS = 5000;

/**
 * The service's embedded SQLite store at `<DATA_DIR>/claudecode-api.sqlite`. It is opened and
 * migrated when the application is built, so a broken store stops the boot, and closed on
 * shutdown. Feature code runs its own statements through `db`.
 */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseService.name);
  readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    mkdirSync(config.dataDir, { recursive: true });
    this.db = openDatabase(join(config.dataDir, DATABASE_FILE));
    const applied = applyMigrations(this.db, MIGRATIONS);
    if (applied.length > 0) {
      this.logger.log(`Applied store migrations ${applied.join(', ')}`);
    }
  }

  /** The statement of a fixed SQL text, prepared once: the run paths run theirs per CLI line. */
  statement<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared as unknown as Statement<P, R>;
  }

  // The last hook of a shutdown: runs that are stopped during it are still recorded.
  onApplicationShutdown(): void {
    if (this.db.open) this.db.close();
  }
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
