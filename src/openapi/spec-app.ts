import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../app.factory';
import { loadConfig } from '../common/config/load-config';

/**
 * The application as the spec sees it: embedded defaults, a placeholder token and a throwaway
 * store, since no route's documentation depends on settings.
 */
export function createSpecApp(): Promise<NestFastifyApplication> {
  const config = loadConfig({
    API_TOKEN: 'spec-only-placeholder-token-0000000000',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-openapi-')),
  });
  return createApp(config, { logger: ['error'] });
}
