import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '../common/config/app-config';
import { createSqlStore } from './create-sql-store';
import { SqlStore } from './sql-store';

/**
 * The store, available to every module. Opened (and migrated) when the application is built, so
 * a broken store stops the boot; closed by its own shutdown hook, the last of a shutdown.
 */
@Global()
@Module({
  providers: [{ provide: SqlStore, useFactory: createSqlStore, inject: [APP_CONFIG] }],
  exports: [SqlStore],
})
export class StoreModule {}
