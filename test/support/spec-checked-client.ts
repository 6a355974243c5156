import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import {
  type ClaudeCodeClient,
  type ClaudeCodeClientOptions,
  createClaudeCodeClient,
} from '../../client/src';
import { OPENAPI_FILE } from '../../src/openapi/openapi';

/** A response the committed openapi.json does not allow for the request that got it. */
export class SpecViolation extends Error {
  constructor(
    /** The operationId; null when openapi.json has no operation for the request. */
    readonly operation: string | null,
    /** `METHOD /path` as sent. */
    readonly request: string,
    readonly status: number,
    problem: string,
  ) {
    const subject = operation === null ? request : `${operation} (${request})`;
    super(`openapi.json: ${subject} answered ${status}, ${problem}`);
    this.name = 'SpecViolation';
  }
}

/** The parts of an OpenAPI 3 document the check reads. */
interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string; responses: Responses }>>;
}

/** Status code → its media types, each with a schema. */
type Responses = Record<string, { content?: Record<string, unknown> }>;

interface Operation {
  id: string;
  /** JSON pointer of the operation inside openapi.json, for ajv to resolve `$ref`s against. */
  pointer: string;
  responses: Responses;
}

interface Route {
  method: string;
  pattern: RegExp;
  templateParams: number;
  operation: Operation;
}

const SPEC_ID = 'openapi.json';
const JSON_MEDIA_TYPE = /^application\/(.+\+)?json$/;

/** The committed spec, loaded once: its routes, and ajv holding the whole document. */
class SpecChecker {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly routes: Route[];

  constructor(spec: OpenApiDocument) {
    addFormats(this.ajv);
    // The whole document goes in, so `#/components/schemas/…` resolves wherever it appears.
    this.ajv.addSchema(spec, SPEC_ID);
    this.routes = Object.entries(spec.paths)
      .flatMap(([template, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({
          method: method.toUpperCase(),
          pattern: templatePattern(template),
          templateParams: template.split('{').length - 1,
          operation: {
            id: operation.operationId ?? `${method.toUpperCase()} ${template}`,
            pointer: `/paths/${escapePointer(template)}/${method}`,
            responses: operation.responses,
          },
        })),
      )
      // A literal segment wins over a template one (`/a/b` before `/a/{x}`).
      .sort((a, b) => a.templateParams - b.templateParams);
  }

  /**
   * Throws a SpecViolation unless the status is documented for the request's operation, the
   * content type is one documented for that status, and a JSON body validates against its schema.
   * Other bodies (an event stream) are not read, so a stream stays the caller's.
   */
  async check(method: string, url: string, response: Response): Promise<void> {
    const pathname = new URL(url).pathname;
    const request = `${method.toUpperCase()} ${pathname}`;
    const route = this.routes.find(
      (candidate) => candidate.method === method.toUpperCase() && candidate.pattern.test(pathname),
    );
    if (!route) {
      throw new SpecViolation(
        null,
        request,
        response.status,
        'but openapi.json has no operation for this method and path',
      );
    }
    const { operation } = route;
    const violation = (problem: string) =>
      new SpecViolation(operation.id, request, response.status, problem);
    const status = String(response.status);
    const documented = operation.responses[status];
    if (!documented) {
      const statuses = Object.keys(operation.responses).join(', ');
      throw violation(`which is not documented (documented: ${statuses})`);
    }
    const mediaTypes = Object.keys(documented.content ?? {});
    if (mediaTypes.length === 0) return;
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
    if (!mediaTypes.includes(mediaType)) {
      throw violation(`as "${mediaType}", but documents ${mediaTypes.join(', ')}`);
    }
    if (!JSON_MEDIA_TYPE.test(mediaType)) return;

    const text = await response.clone().text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw violation(`with invalid JSON: ${text.slice(0, 2000)}`);
    }
    const schemaPointer = `${operation.pointer}/responses/${status}/content/${escapePointer(mediaType)}/schema`;
    const validate = this.ajv.getSchema(`${SPEC_ID}#${schemaPointer}`);
    if (!validate) throw new Error(`openapi.json: no schema at ${schemaPointer}`);
    if (!validate(body)) {
      const errors = this.ajv.errorsText(validate.errors, { dataVar: 'body', separator: '; ' });
      throw violation(
        `with a body the documented schema refuses: ${errors}\nbody: ${text.slice(0, 2000)}`,
      );
    }
  }
}

/** `/api/sessions/{env}/{id}` matches `/api/sessions/dev/<anything but a slash>`. */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source}$`);
}

/** One JSON-pointer token, URI-encoded as a `$ref` fragment is. */
function escapePointer(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}

let committedSpecChecker: SpecChecker | undefined;

/** Checks a response against the committed openapi.json; see SpecChecker.check. */
export function assertResponseMatchesSpec(
  method: string,
  url: string,
  response: Response,
): Promise<void> {
  committedSpecChecker ??= new SpecChecker(
    JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument,
  );
  return committedSpecChecker.check(method, url, response);
}

/** `fetch`, but every answer is checked against openapi.json before the caller sees it. */
export const specCheckedFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await fetch(request);
  await assertResponseMatchesSpec(request.method, request.url, response);
  return response;
};

/**
 * The generated client, with every response checked at run time against openapi.json: its types
 * only bind at compile time, so without this a spec that lies would still pass the tests.
 */
export function createSpecCheckedClient(options: ClaudeCodeClientOptions): ClaudeCodeClient {
  const client = createClaudeCodeClient(options);
  client.use({
    onResponse: ({ request, response }) =>
      assertResponseMatchesSpec(request.method, request.url, response),
  });
  return client;
}
