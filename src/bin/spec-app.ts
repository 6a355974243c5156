import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../app.factory';
import { loadConfig } from '../common/config/load-config';
import { generateOpenApiArtifacts, OpenApiArtifacts } from '../openapi/openapi';

/**
 * The spec and the client's types, from the application as the spec sees it: embedded defaults,
 * a placeholder token and a throwaway store, since no route's documentation depends on settings.
 */
export async function generateArtifactsFromSpecApp(): Promise<OpenApiArtifacts> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cca-openapi-'));
  const config = loadConfig({
    API_TOKEN: 'spec-only-placeholder-token-0000000000',
    LOG_LEVEL: 'error',
    DATA_DIR: dataDir,
  });
  const app = await createApp(config);
  try {
    return generateOpenApiArtifacts(app);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
