import { readFileSync } from 'node:fs';
import { CLIENT_SCHEMA_FILE, OPENAPI_FILE } from '../../../src/openapi/openapi';
import { generateArtifactsFromSpecApp } from '../../../src/bin/spec-app';

describe('committed OpenAPI spec and client', () => {
  it('match what the code produces (run `npm run openapi` after changing a route or DTO)', async () => {
    const { spec, clientSchema } = await generateArtifactsFromSpecApp();
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(spec);
    expect(readFileSync(CLIENT_SCHEMA_FILE, 'utf8')).toBe(clientSchema);
  });
});
