import { HttpStatus } from '@nestjs/common';
import { EnvironmentScope, inScope } from '../common/auth/authenticated-request';
import { ApiError } from '../common/errors/api-error';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { CONTAINER_START_ERRORS } from '../containers/containers.controller';
import type { ExecutionRecord } from './executions.repository';

export function executionNotFound(id: string): ApiError {
  return new ApiError(HttpStatus.NOT_FOUND, ErrorCode.EXECUTION_NOT_FOUND, `No execution ${id}`);
}

/**
 * The run `id` as read from the store, when it is in `environments` (a scoped token's); else 404,
 * as if it did not exist: a scoped token never learns of another environment's run.
 */
export function visibleRun(
  record: ExecutionRecord | null,
  id: string,
  environments: EnvironmentScope = null,
): ExecutionRecord {
  if (!record || !inScope(environments, record.env)) throw executionNotFound(id);
  return record;
}

/**
 * What admitting a run can answer, for `submitExecution` and `executePrompt` alike: the checks of
 * the request, the session and the queue, and starting (or creating) the container.
 */
export const ApiRunAdmissionErrors = (): ClassDecorator & MethodDecorator =>
  ApiErrors(
    {
      400: [ErrorCode.VALIDATION_FAILED],
      403: [ErrorCode.PERMISSION_MODE_NOT_ALLOWED],
      404: [ErrorCode.ENV_NOT_FOUND, ErrorCode.SESSION_NOT_FOUND],
      409: [ErrorCode.CONTAINER_NOT_MANAGED],
      413: [ErrorCode.PROMPT_TOO_LARGE, ErrorCode.PAYLOAD_TOO_LARGE],
      429: [ErrorCode.QUEUE_FULL, ErrorCode.ENV_BUDGET_EXHAUSTED, ErrorCode.RUN_QUOTA_EXHAUSTED],
      503: [...CONTAINER_START_ERRORS, ErrorCode.SHUTTING_DOWN],
      504: [ErrorCode.DOCKER_TIMEOUT],
    },
    {
      403: 'permissionMode names a mode the environment does not let a client ask for (PERMISSION_MODES)',
      429: 'the environment has MAX_QUEUE_PER_ENV runs waiting, has spent ENV_BUDGET_USD_PER_DAY, or the token has submitted TOKEN_RUN_QUOTA runs in its window; details and Retry-After say when it resets',
    },
  );
