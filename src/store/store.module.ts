import { Global, Module } from '@nestjs/common';
import { DatabaseService } from './database.service';

/** The embedded SQLite store, available to every module. */
@Global()
@Module({ providers: [DatabaseService], exports: [DatabaseService] })
export class StoreModule {}
