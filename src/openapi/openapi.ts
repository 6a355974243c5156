import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { BEARER_SCHEME } from '../common/auth/api-authenticated.decorator';

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
        description: 'The API_TOKEN (or one of API_TOKENS)',
      },
      BEARER_SCHEME,
    )
    .build();
  // Operation ids are the handler names, so the generated client reads like a library.
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
}

/** The committed form of the spec: sorted keys, two-space indent, final newline. */
export function serializeOpenApi(document: OpenAPIObject): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

/** The client's types, generated from the serialized spec. */
export async function generateClientSchema(specText: string): Promise<string> {
  const ast = await openapiTS(JSON.parse(specText) as Parameters<typeof openapiTS>[0]);
  return `// Generated from openapi.json by \`npm run openapi\`. Do not edit.\n\n${astToString(ast)}`;
}

export interface OpenApiArtifacts {
  spec: string;
  clientSchema: string;
}

export async function generateOpenApiArtifacts(app: INestApplication): Promise<OpenApiArtifacts> {
  const spec = serializeOpenApi(buildOpenApiDocument(app));
  return { spec, clientSchema: await generateClientSchema(spec) };
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
