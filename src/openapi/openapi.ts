import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BEARER_SCHEME } from '../common/auth/api-authenticated.decorator';
import { addBodyParsingResponses } from './body-parsing-responses';
import { addScopeDescriptions } from './scope-descriptions';

/** The repository root, from src/openapi or dist/openapi alike. */
export const PROJECT_ROOT = join(__dirname, '..', '..');
export const OPENAPI_FILE = join(PROJECT_ROOT, 'openapi.json');
export const CLIENT_SCHEMA_FILE = join(PROJECT_ROOT, 'client', 'src', 'schema.d.ts');

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const config = new DocumentBuilder()
    .setTitle('claudecode-api')
    .setDescription(
      'Runs the Claude Code CLI headlessly in one long-lived Docker container per environment.',
    )
    .setVersion(version)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque',
        description:
          'A master token (API_TOKEN or one of API_TOKENS), or a scoped token from POST /api/tokens (`cca_…`)',
      },
      BEARER_SCHEME,
    )
    .build();
  // Operation ids are the handler names, so the generated client reads like a library.
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
  addBodyParsingResponses(document);
  addScopeDescriptions(document);
  return document;
}

/** The committed form of the spec: sorted keys, two-space indent, final newline. */
export function serializeOpenApi(document: OpenAPIObject): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

/**
 * The client's types, generated from the serialized spec by openapi-typescript's CLI. It runs in
 * a child process because the generator is ESM-only inside, which Jest's loader cannot require;
 * it is a dev tool, so the running service never loads it.
 */
export function generateClientSchema(specText: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    const specFile = join(folder, 'openapi.json');
    writeFileSync(specFile, specText);
    const generated = execFileSync(
      process.execPath,
      [
        join(dirname(require.resolve('openapi-typescript/package.json')), 'bin', 'cli.js'),
        specFile,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return `// Generated from openapi.json by \`npm run openapi\`. Do not edit.\n\n${generated}`;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export interface OpenApiArtifacts {
  spec: string;
  clientSchema: string;
}

export function generateOpenApiArtifacts(app: INestApplication): OpenApiArtifacts {
  const spec = serializeOpenApi(buildOpenApiDocument(app));
  return { spec, clientSchema: generateClientSchema(spec) };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
