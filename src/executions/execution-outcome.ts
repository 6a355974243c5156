import { LimitHit } from '../agent/limit-report';
import { RunOutcome } from '../agent/run-executor';
import { ApiError } from '../common/errors/api-error';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecutionDto } from './dto/execution.dto';
import { ExecutionErrorCode } from './execution-error-codes';
import { ExecutionStatus } from './execution-status';
import { ExecutionEnd, ExecutionRecord, ExecutionSummary } from './executions.repository';
import type { PendingAsks } from './run-approvals';
import type { QueuePlace } from './run-queue';

/**
 * Why a run was stopped from outside: a cancel through the API, a prompt that steers its session,
 * or the service shutting down.
 */
export type StopReason = 'cancel' | 'steer' | 'shutdown';

/**
 * How a run's outcome is recorded; `structured`: the run asked for an `outputSchema`, so its
 * answer must carry the object.
 */
export function toEnd(
  outcome: RunOutcome,
  stopReason?: StopReason,
  structured = false,
): ExecutionEnd {
  const { result } = outcome;
  const base: ExecutionEnd = {
    ...emptyEnd(),
    exitCode: outcome.exitCode,
    result: outcome.output || null,
    truncated: outcome.truncated,
    costUsd: result?.total_cost_usd ?? null,
    usage: (result?.usage as Record<string, unknown> | undefined) ?? null,
    resultMessage: result ? asPrintedByJsonFormat(result) : null,
  };
  // A limit explains a run that failed, ran out of time or even "succeeded" past a killed tool;
  // a cancel through the API stays a cancel.
  if (outcome.limit && outcome.end !== 'cancelled') {
    return { ...base, ...failure(ExecutionStatus.failed, LIMIT_CODES[outcome.limit]) };
  }
  switch (outcome.end) {
    case 'cancelled':
      return { ...base, ...stopped(stopReason) };
    case 'timeout':
      return {
        ...base,
        ...failure(ExecutionStatus.timed_out, ExecutionErrorCode.EXECUTION_TIMEOUT),
      };
    case 'output_limit':
      return { ...base, ...failure(ExecutionStatus.failed, ExecutionErrorCode.OUTPUT_LIMIT) };
    case 'result':
      return { ...base, ...resultEnd(result, structured) };
    case 'exited':
      return {
        ...base,
        ...failure(ExecutionStatus.failed, ExecutionErrorCode.CLI_EXITED),
        error:
          outcome.failure ??
          (outcome.stderrTail || `Claude Code exited with code ${outcome.exitCode}`),
      };
  }
}

/** How a run that the CLI ended with a result ends, by that result. */
function resultEnd(
  result: RunOutcome['result'],
  structured: boolean,
): Pick<ExecutionEnd, 'status'> & Partial<ExecutionEnd> {
  const code = result ? RESULT_ERROR_CODES[result.subtype] : undefined;
  if (code) return { ...failure(ExecutionStatus.failed, code), error: describeResultError(result) };
  if (!result || result.is_error || result.subtype !== 'success') {
    return {
      ...failure(ExecutionStatus.failed, ExecutionErrorCode.CLI_ERROR),
      error: describeResultError(result),
    };
  }
  if (!structured) return { status: ExecutionStatus.succeeded };
  // The model may answer in words and never call the answer tool: the CLI then says success.
  const object = result.structured_output;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return failure(ExecutionStatus.failed, ExecutionErrorCode.STRUCTURED_OUTPUT_INVALID);
  }
  return { status: ExecutionStatus.succeeded, structuredOutput: object as Record<string, unknown> };
}

/** The CLI's error results that have a code of their own (the rest are CLI_ERROR). */
const RESULT_ERROR_CODES: Partial<Record<string, ExecutionErrorCode>> = {
  error_max_budget_usd: ExecutionErrorCode.BUDGET_EXCEEDED,
  error_max_structured_output_retries: ExecutionErrorCode.STRUCTURED_OUTPUT_INVALID,
};

/** How a run stopped from outside ends, by why it was stopped. */
function stopped(
  reason: StopReason | undefined,
): Pick<ExecutionEnd, 'status' | 'error' | 'errorCode'> {
  switch (reason) {
    case 'shutdown':
      return {
        ...failure(ExecutionStatus.interrupted, ExecutionErrorCode.INTERRUPTED),
        error: 'The service shut down during the run; it was stopped',
      };
    case 'steer':
      return failure(ExecutionStatus.cancelled, ExecutionErrorCode.STEERED);
    case 'cancel':
    case undefined:
      return failure(ExecutionStatus.cancelled, ExecutionErrorCode.CANCELLED);
  }
}

/**
 * The end of a run that never reached the CLI, or that no process runs any more: `crash`, the
 * service stopped with it in flight; `owner_lost`, the replica that ran it stopped answering.
 */
export function endWithoutRun(
  why: 'cancelled' | 'shutdown' | 'crash' | 'owner_lost',
): ExecutionEnd {
  switch (why) {
    case 'cancelled':
      return {
        ...emptyEnd(),
        ...failure(ExecutionStatus.cancelled, ExecutionErrorCode.CANCELLED),
        error: 'Cancelled before it started',
      };
    case 'shutdown':
      return {
        ...emptyEnd(),
        ...failure(ExecutionStatus.interrupted, ExecutionErrorCode.INTERRUPTED),
        error: 'The service shut down before the run started',
      };
    case 'crash':
      return {
        ...emptyEnd(),
        ...failure(ExecutionStatus.interrupted, ExecutionErrorCode.INTERRUPTED),
        error: 'The service stopped while the run was in flight',
      };
    case 'owner_lost':
      return {
        ...emptyEnd(),
        ...failure(ExecutionStatus.interrupted, ExecutionErrorCode.INTERRUPTED),
        error: 'The replica that ran it stopped answering; another replica ended it',
      };
  }
}

/** The end of a run that could not be set up (container, session, Docker). */
export function endOfSetupFailure(error: unknown): ExecutionEnd {
  const reason = error instanceof ApiError ? error.message : 'an internal error';
  return {
    ...emptyEnd(),
    status: ExecutionStatus.failed,
    error: `The run could not start: ${reason}`,
    errorCode: ExecutionErrorCode.SETUP_FAILED,
  };
}

/** What the final `end` event says about the run. */
export function endSummary(record: ExecutionSummary): Record<string, unknown> {
  return {
    id: record.id,
    status: record.status,
    sessionId: record.sessionId,
    exitCode: record.exitCode,
    error: record.error,
    errorCode: record.errorCode,
    eventCount: record.eventCount,
    eventsDropped: record.eventsDropped,
  };
}

/** The run as the API shows it, with what it waits on now (nothing once it has ended). */
export function toExecutionDto(
  record: ExecutionSummary,
  pending: PendingAsks = { approvals: [], questions: [] },
  place?: QueuePlace,
): ExecutionDto {
  return {
    id: record.id,
    env: record.env,
    sessionId: record.sessionId,
    status: record.status,
    prompt: record.prompt,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    exitCode: record.exitCode,
    result: record.result,
    truncated: record.truncated,
    costUsd: record.costUsd,
    spentUsd: record.spentUsd,
    usage: record.usage,
    structuredOutput: record.structuredOutput,
    error: record.error,
    errorCode: record.errorCode,
    eventCount: record.eventCount,
    eventsDropped: record.eventsDropped,
    needsAttention: pending.approvals.length + pending.questions.length > 0,
    pendingApprovals: pending.approvals,
    pendingQuestions: pending.questions,
    queuePosition: place?.position ?? null,
    queuedBehind: place?.behind ?? null,
  };
}

/** A finished run in the shape the LifeOS web app and the desktop app share. */
export function toExecuteResponse(
  record: ExecutionRecord,
  jsonOutput: boolean,
): ExecuteResponseDto {
  const response: ExecuteResponseDto = {
    success: record.status === ExecutionStatus.succeeded,
    sessionId: record.sessionId,
    exitCode: record.exitCode,
    durationMs: Date.parse(record.finishedAt ?? record.createdAt) - Date.parse(record.createdAt),
    truncated: record.truncated,
  };
  if (record.result) response.output = record.result;
  if (jsonOutput && record.resultMessage) response.json_output = record.resultMessage;
  if (record.structuredOutput) response.structuredOutput = record.structuredOutput;
  if (!response.success) {
    response.error = record.error ?? 'The run failed';
    if (record.errorCode) response.code = record.errorCode as ExecutionErrorCode;
  }
  return response;
}

const LIMIT_CODES: Record<LimitHit, ExecutionErrorCode> = {
  memory: ExecutionErrorCode.MEMORY_LIMIT,
  pids: ExecutionErrorCode.PIDS_LIMIT,
  tmp: ExecutionErrorCode.TMP_FULL,
};

const FAILURE_MESSAGES: Partial<Record<ExecutionErrorCode, string>> = {
  [ExecutionErrorCode.MEMORY_LIMIT]:
    "A process in the environment's container was killed: it reached its memory limit",
  [ExecutionErrorCode.PIDS_LIMIT]:
    "The environment's container refused new processes: it reached its pids limit; it was restarted",
  [ExecutionErrorCode.TMP_FULL]:
    "The environment's /tmp was full at the end of the run; the container was restarted to empty it",
  [ExecutionErrorCode.CANCELLED]: 'The run was cancelled',
  [ExecutionErrorCode.STEERED]:
    'A prompt sent to the session with whenSessionBusy steer interrupted this turn; it runs next',
  [ExecutionErrorCode.EXECUTION_TIMEOUT]: 'The run passed its deadline and was stopped',
  [ExecutionErrorCode.OUTPUT_LIMIT]:
    'Claude Code wrote far more than MAX_OUTPUT_BYTES and was stopped',
  [ExecutionErrorCode.STRUCTURED_OUTPUT_INVALID]:
    'Claude answered without the object that outputSchema asks for',
};

function failure(
  status: ExecutionStatus,
  errorCode: ExecutionErrorCode,
): Pick<ExecutionEnd, 'status' | 'error' | 'errorCode'> {
  return { status, errorCode, error: FAILURE_MESSAGES[errorCode] ?? null };
}

function emptyEnd(): ExecutionEnd {
  return {
    status: ExecutionStatus.failed,
    exitCode: null,
    result: null,
    truncated: false,
    costUsd: null,
    usage: null,
    structuredOutput: null,
    resultMessage: null,
    error: null,
    errorCode: null,
  };
}

/**
 * The result object as `claude -p --output-format json` prints it. In stream-json mode (which
 * the SDK speaks) the CLI adds one field that the json format leaves out.
 */
function asPrintedByJsonFormat(result: NonNullable<RunOutcome['result']>): string {
  const { model_usage_since_last_result: _streamOnly, ...printed } = result as typeof result & {
    model_usage_since_last_result?: unknown;
  };
  return JSON.stringify(printed);
}

function describeResultError(result: RunOutcome['result']): string {
  if (!result) return 'Claude Code ended without a result';
  if (result.subtype === 'success') return result.result || 'Claude Code reported an error';
  const details = result.errors?.join('; ');
  return details ? `${result.subtype}: ${details}` : `Claude Code stopped: ${result.subtype}`;
}
