import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite-store';
import { describeStoreContract } from '../support/store-contract';

// The store logs each migration it applies.
Logger.overrideLogger(false);

describeStoreContract('SQLite', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cca-store-contract-'));
  const store = new SqliteStore(dataDir);
  return Promise.resolve({
    store,
    close: async () => {
      await store.onApplicationShutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
});
