import { AppConfig } from '../common/config/app-config';
import { createPostgresStore } from './postgres-store';
import { SqlStore } from './sql-store';
import { SqliteStore } from './sqlite-store';

/**
 * The one place that picks the store's engine: the embedded SQLite file by default, PostgreSQL
 * when DATABASE_URL names one (opened, checked and migrated before the application is built).
 */
export function createSqlStore(config: AppConfig): SqlStore | Promise<SqlStore> {
  const { database } = config;
  switch (database.engine) {
    case 'sqlite':
      return new SqliteStore(config.dataDir);
    case 'postgres':
      return createPostgresStore(database);
  }
}
