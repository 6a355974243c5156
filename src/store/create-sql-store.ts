import { AppConfig } from '../common/config/app-config';
import { SqlStore } from './sql-store';
import { SqliteStore } from './sqlite-store';

/** The one place that picks the store's engine: the embedded SQLite file by default. */
export function createSqlStore(config: AppConfig): SqlStore {
  return new SqliteStore(config.dataDir);
}
