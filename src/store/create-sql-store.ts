import { Logger } from '@nestjs/common';
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
      if (config.coordination.redis) {
        // Allowed (one replica may use Redis alone), but replicas would each keep their own file.
        new Logger('SqlStore').warn(
          'REDIS_URL is set but DATABASE_URL is not: this replica keeps its history, queue and sessions in its own SQLite file, which no other replica sees. Give every replica the same DATABASE_URL.',
        );
      }
      return new SqliteStore(config.dataDir);
    case 'postgres':
      return createPostgresStore(database);
  }
}
