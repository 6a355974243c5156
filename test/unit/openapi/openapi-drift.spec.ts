import { readFileSync } from 'node:fs';
import { createSpecApp } from '../../../src/openapi/spec-app';
import {
  CLIENT_SCHEMA_FILE,
  generateOpenApiArtifacts,
  OPENAPI_FILE,
} from '../../../src/openapi/openapi';

describe('committed OpenAPI spec and client', () => {
  it('match what the code produces (run `npm run openapi` after changing a route or DTO)', async () => {
    const app = await createSpecApp();
    try {
      const { spec, clientSchema } = generateOpenApiArtifacts(app);
      expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(spec);
      expect(readFileSync(CLIENT_SCHEMA_FILE, 'utf8')).toBe(clientSchema);
    } finally {
      await app.close();
    }
  });
});
