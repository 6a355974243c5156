import { ErrorCode } from '../../../src/common/errors/error-codes';
import { ERROR_EXAMPLES } from '../../../src/common/errors/error-examples';
import { DockerOperationError, DockerUnavailableError } from '../../../src/docker/docker.errors';
import { executionNotFound } from '../../../src/executions/executions.errors';
import { generateArtifactsFromSpecApp } from '../../../src/bin/spec-app';
import { FORK_MAX_TRANSCRIPT_BYTES } from '../../../src/sessions/session-fork.service';
import {
  messageNotFound,
  sessionBusy,
  sessionEmpty,
  transcriptTooLarge,
} from '../../../src/sessions/sessions.errors';

interface ErrorResponse {
  description: string;
  content: {
    'application/json': {
      schema: { $ref: string };
      examples: Record<string, { summary: string; value: Record<string, unknown> }>;
    };
  };
}

type Operations = Record<string, Record<string, { responses: Record<string, ErrorResponse> }>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CODE_IN_TEXT = new RegExp(`\\b(${Object.values(ErrorCode).join('|')})\\b`, 'g');

describe('error responses in the spec', () => {
  let errorResponses: [route: string, status: string, response: ErrorResponse][];

  beforeAll(async () => {
    const { paths } = JSON.parse((await generateArtifactsFromSpecApp()).spec) as {
      paths: Operations;
    };
    errorResponses = Object.entries(paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, { responses }]) =>
        Object.entries(responses)
          .filter(([status]) => Number(status) >= 400)
          .map(([status, response]): [string, string, ErrorResponse] => [
            `${method.toUpperCase()} ${path}`,
            status,
            response,
          ]),
      ),
    );
  }, 60000);

  it('give one example per code the description names, each with that status', () => {
    expect(errorResponses.length).toBeGreaterThan(50);
    for (const [route, status, { description, content }] of errorResponses) {
      const named = description.match(CODE_IN_TEXT) ?? [];
      const { schema, examples } = content['application/json'];
      expect({ route, status, schema }).toEqual({
        route,
        status,
        schema: { $ref: '#/components/schemas/ErrorResponseDto' },
      });
      expect({ route, status, named: [...named].sort() }).toEqual({
        route,
        status,
        named: [...new Set(named)].sort(),
      });
      expect({ route, status, codes: Object.keys(examples).sort() }).toEqual({
        route,
        status,
        codes: [...named].sort(),
      });
      for (const [code, { value }] of Object.entries(examples)) {
        expect(value).toMatchObject({ statusCode: Number(status), code });
        expect(value.requestId).toMatch(UUID);
      }
    }
  });

  it("add a class's codes to a handler's own response of the same status", () => {
    const submit = errorResponses.find(
      ([route, status]) => route === 'POST /api/executions' && status === '429',
    );
    expect(Object.keys(submit?.[2].content['application/json'].examples ?? {})).toEqual([
      ErrorCode.ENV_BUDGET_EXHAUSTED,
      ErrorCode.QUEUE_FULL,
      ErrorCode.RATE_LIMITED,
      ErrorCode.RUN_QUOTA_EXHAUSTED,
    ]);
  });
});

describe('error examples', () => {
  const idIn = (message: string): string => /[0-9a-f-]{36}/.exec(message)?.[0] ?? '';

  it('are worded as the errors the service throws', () => {
    const { DOCKER_UNAVAILABLE, DOCKER_ERROR, EXECUTION_NOT_FOUND, SESSION_BUSY } = ERROR_EXAMPLES;
    expect(new DockerUnavailableError().message).toBe(DOCKER_UNAVAILABLE.message);
    expect(new DockerOperationError('start the container').message).toBe(DOCKER_ERROR.message);
    expect(executionNotFound(idIn(EXECUTION_NOT_FOUND.message)).message).toBe(
      EXECUTION_NOT_FOUND.message,
    );
    expect(sessionBusy(idIn(SESSION_BUSY.message)).message).toBe(SESSION_BUSY.message);
  });

  it('are worded as the errors of a fork', () => {
    const { SESSION_EMPTY, MESSAGE_NOT_FOUND, TRANSCRIPT_TOO_LARGE } = ERROR_EXAMPLES;
    const [session = '', message = ''] = MESSAGE_NOT_FOUND.message.match(/[0-9a-f-]{36}/g) ?? [];
    expect(sessionEmpty(idIn(SESSION_EMPTY.message)).message).toBe(SESSION_EMPTY.message);
    expect(messageNotFound(session, message).message).toBe(MESSAGE_NOT_FOUND.message);
    expect(
      transcriptTooLarge(idIn(TRANSCRIPT_TOO_LARGE.message), 80_000_000, FORK_MAX_TRANSCRIPT_BYTES)
        .message,
    ).toBe(TRANSCRIPT_TOO_LARGE.message);
  });
});
