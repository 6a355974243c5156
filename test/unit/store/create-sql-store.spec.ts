import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config';
import { createSqlStore } from '../../../src/store/create-sql-store';
import { SqliteStore } from '../../../src/store/sqlite-store';

describe('the choice of store engine', () => {
  let dataDir: string;
  let warned: jest.SpyInstance;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cca-store-choice-'));
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function storeWith(settings: Record<string, string>): Promise<SqliteStore> {
    const config = loadConfig({ API_TOKEN: 's'.repeat(32), DATA_DIR: dataDir, ...settings });
    const store = await createSqlStore(config);
    if (!(store instanceof SqliteStore)) throw new Error('expected the embedded store');
    return store;
  }

  it('keeps the embedded SQLite file, and says nothing, by default', async () => {
    await (await storeWith({})).onApplicationShutdown();
    expect(warned).not.toHaveBeenCalled();
  });

  it('warns that replicas coordinating through Redis share nothing when each keeps its own SQLite file', async () => {
    await (await storeWith({ REDIS_URL: 'redis://127.0.0.1:6379' })).onApplicationShutdown();
    expect(warned).toHaveBeenCalledTimes(1);
    expect(warned).toHaveBeenCalledWith(
      expect.stringContaining('REDIS_URL is set but DATABASE_URL is not'),
    );
  });
});
