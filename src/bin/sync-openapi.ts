import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CLIENT_SCHEMA_FILE, OPENAPI_FILE, PROJECT_ROOT } from '../openapi/openapi';
import { generateArtifactsFromSpecApp } from './spec-app';

/**
 * Writes openapi.json and the client's generated types from the built app.
 * With --check it writes nothing and exits 1 when either file differs.
 */
async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const { spec, clientSchema } = await generateArtifactsFromSpecApp();
  let stale = false;
  for (const [file, content] of [
    [OPENAPI_FILE, spec],
    [CLIENT_SCHEMA_FILE, clientSchema],
  ] as const) {
    const name = relative(PROJECT_ROOT, file);
    const current = readOrEmpty(file);
    if (current === content) continue;
    if (check) {
      stale = true;
      console.error(`${name} is out of date: run npm run openapi`);
    } else {
      writeFileSync(file, content);
      console.log(`wrote ${name}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

void main();
