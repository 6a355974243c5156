import { DEFAULT_AGENT_IMAGE } from '../config/environment-variables';
import { ErrorCode } from './error-codes';
import { ErrorResponseDto } from './error-response.dto';

// Made-up ids, shaped like the real ones.
const REQUEST_ID = '0b6f4c2e-8d1a-4f3b-9e5c-7a2d1c3b4e5f';
const SESSION_ID = '5f0c8e2a-3b1d-4c7e-9a6f-2d8b1e4c7a90';
const EXECUTION_ID = 'a3c1e7d2-6b4f-4a8e-b2d9-1f0e3c5a7b6d';
const APPROVAL_ID = '5e2b9c41-0d7a-4f3e-9a61-c8b4d2f07e19';
const MESSAGE_ID = '8d3f1a6c-2e4b-4c9d-a7f0-6b1e9c2d5a38';
const TOKEN_ID = 'c7e2a9f4-1b3d-4e8a-9c6f-0d2b5e8a1f47';

interface ErrorExample {
  status: number;
  message: string;
  details?: readonly string[];
}

/**
 * The status each code is answered with, and a message worded as where it is thrown (settings at
 * their embedded defaults), for the examples in the spec. No secret appears in any of them.
 */
export const ERROR_EXAMPLES = {
  VALIDATION_FAILED: {
    status: 400,
    message: 'The request is invalid',
    details: ['extra: property extra should not exist'],
  },
  UNAUTHORIZED: { status: 401, message: 'Invalid bearer token' },
  FORBIDDEN: { status: 403, message: 'Forbidden resource' },
  NOT_FOUND: { status: 404, message: 'Cannot GET /api/unknown' },
  ENV_NOT_FOUND: {
    status: 404,
    message: 'Unknown environment "qa"; configured: dev, staging, prod',
  },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry in 17 s' },
  DOCKER_UNAVAILABLE: {
    status: 503,
    message: 'The Docker engine is not reachable; try again shortly',
  },
  DOCKER_ERROR: { status: 502, message: 'Docker failed to start the container' },
  DOCKER_TIMEOUT: { status: 504, message: 'Docker did not finish in time: read a transcript' },
  CONTAINER_UNAVAILABLE: {
    status: 503,
    message: 'The container claude-agent-dev could not be started',
  },
  CONTAINER_EXISTS: {
    status: 409,
    message: 'The container claude-agent-dev already exists: start it, or remove it first',
  },
  CONTAINER_NOT_FOUND: { status: 404, message: 'The environment dev has no container to remove' },
  CONTAINER_NOT_RUNNING: {
    status: 409,
    message: 'The container claude-agent-dev is not running: start it first',
  },
  CONTAINER_NOT_MANAGED: {
    status: 409,
    message:
      'The container claude-agent-dev was not created by this service (it lacks the label com.claudecode-api.managed=true), which will not adopt it: remove or rename it',
  },
  AGENT_IMAGE_MISSING: {
    status: 503,
    message: `The agent image ${DEFAULT_AGENT_IMAGE} is not on the Docker host; build it with scripts/build-images.sh`,
  },
  SESSION_NOT_FOUND: { status: 404, message: `No session ${SESSION_ID} in environment dev` },
  SESSION_BUSY: {
    status: 409,
    message: `Session ${SESSION_ID} is already running a prompt; wait for it to finish`,
  },
  SESSION_EMPTY: { status: 409, message: `Session ${SESSION_ID} has no messages to fork` },
  MESSAGE_NOT_FOUND: {
    status: 404,
    message: `Session ${SESSION_ID} has no message ${MESSAGE_ID} to fork at`,
  },
  TRANSCRIPT_TOO_LARGE: {
    status: 413,
    message: `The transcript of session ${SESSION_ID} is 80000000 bytes; a fork copies at most 67108864`,
  },
  PERMISSION_MODE_NOT_ALLOWED: {
    status: 403,
    message:
      'permissionMode bypassPermissions is not allowed in dev; a client may name default, acceptEdits, plan, dontAsk',
  },
  PROMPT_TOO_LARGE: {
    status: 413,
    message: 'The prompt is 1048577 bytes; the limit is 1048576 (MAX_PROMPT_BYTES)',
  },
  QUEUE_FULL: {
    status: 429,
    message: 'Environment dev has 20 runs waiting (MAX_QUEUE_PER_ENV); retry later',
  },
  TOO_MANY_STREAMS: {
    status: 429,
    message: 'This token has 20 event streams open (SSE_MAX_STREAMS_PER_TOKEN); close one first',
  },
  EXECUTION_NOT_FOUND: { status: 404, message: `No execution ${EXECUTION_ID}` },
  EXECUTION_FINISHED: {
    status: 409,
    message: `Execution ${EXECUTION_ID} has already ended (succeeded)`,
  },
  APPROVAL_NOT_FOUND: {
    status: 404,
    message: `Execution ${EXECUTION_ID} has no approval ${APPROVAL_ID}`,
  },
  APPROVAL_ANSWERED: {
    status: 409,
    message: `The approval ${APPROVAL_ID} of execution ${EXECUTION_ID} has already been answered`,
  },
  QUESTION_NOT_FOUND: {
    status: 404,
    message: `Execution ${EXECUTION_ID} has no question ${APPROVAL_ID}`,
  },
  QUESTION_ANSWERED: {
    status: 409,
    message: `The question ${APPROVAL_ID} of execution ${EXECUTION_ID} has already been answered`,
  },
  SHUTTING_DOWN: { status: 503, message: 'The service is shutting down; retry shortly' },
  REPLICA_UNREACHABLE: {
    status: 503,
    message: `Execution ${EXECUTION_ID} runs on replica api-2, which did not take the request within 5000 ms; if that replica is gone, its runs end interrupted within 15 s`,
  },
  INTERNAL_ERROR: { status: 500, message: 'Internal server error' },
  ENV_BUDGET_EXHAUSTED: {
    status: 429,
    message:
      'Environment dev has spent $25.03 of its $25 a day (ENV_BUDGET_USD_PER_DAY); it takes runs again at 2026-12-03T09:12:44.000Z',
    details: ['resetsAt: 2026-12-03T09:12:44.000Z'],
  },
  RUN_QUOTA_EXHAUSTED: {
    status: 429,
    message:
      'This token has submitted 200 runs in the last 86400000 ms (TOKEN_RUN_QUOTA); it may submit again at 2026-12-03T09:12:44.000Z',
    details: ['resetsAt: 2026-12-03T09:12:44.000Z'],
  },
  SCOPE_DENIED: {
    status: 403,
    message: 'This token may act in dev only, not in environment "prod"',
  },
  TOKEN_NOT_FOUND: { status: 404, message: `No token ${TOKEN_ID}` },
} as const satisfies Record<ErrorCode, ErrorExample>;

/** A status some code is answered with. */
export type ErrorStatus = (typeof ERROR_EXAMPLES)[ErrorCode]['status'];

/** The codes answered with `status`. */
export type ErrorCodeOf<S extends ErrorStatus> = {
  [C in ErrorCode]: (typeof ERROR_EXAMPLES)[C]['status'] extends S ? C : never;
}[ErrorCode];

/** At least one code. */
export type ErrorCodeList<S extends ErrorStatus> = readonly [ErrorCodeOf<S>, ...ErrorCodeOf<S>[]];

/** "A", "A or B", "A, B or C", then the note if there is one. */
export function describeErrors(codes: readonly ErrorCode[], note?: string): string {
  const list =
    codes.length === 1 ? codes[0] : `${codes.slice(0, -1).join(', ')} or ${codes.at(-1)}`;
  return note ? `${list}: ${note}` : list;
}

/** One example reply per code, named by the code. */
export function errorExamples(
  codes: readonly ErrorCode[],
): Record<string, { summary: string; value: ErrorResponseDto }> {
  return Object.fromEntries(
    codes.map((code) => {
      const example: ErrorExample = ERROR_EXAMPLES[code];
      const value: ErrorResponseDto = {
        statusCode: example.status,
        code,
        message: example.message,
        requestId: REQUEST_ID,
      };
      if (example.details) value.details = [...example.details];
      return [code, { summary: code, value }];
    }),
  );
}
