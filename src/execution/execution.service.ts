import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ContainersService } from '../containers/containers.service';
import { EnvironmentPipe } from '../containers/environment.pipe';
import { RunRegistry } from '../sessions/run-registry';
import { SessionsService } from '../sessions/sessions.service';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecutionErrorCode } from './execution-error-codes';
import { RunExecutor, RunOutcome } from './run-executor';

/** Runs one prompt in an environment's container and answers in the desktop app's shape. */
@Injectable()
export class ExecutionService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly environments: EnvironmentPipe,
    private readonly containers: ContainersService,
    private readonly sessions: SessionsService,
    private readonly registry: RunRegistry,
    private readonly executor: RunExecutor,
  ) {}

  async execute(request: ExecuteRequestDto): Promise<ExecuteResponseDto> {
    const env = this.environments.transform(request.env);
    this.checkPromptSize(request.prompt);
    const limits = this.config.execution;
    const sessionId = request.sessionId ?? randomUUID();
    // Claimed before anything else, so two first runs of one session cannot both start it.
    const release = this.registry.claim(env, sessionId, limits.maxConcurrentPerEnv);
    try {
      const startedAt = Date.now();
      const containerName = await this.containers.ensureRunning(env);
      const resume = request.sessionId
        ? (await this.sessions.prepareRun(env, request.sessionId)).resume
        : false;
      const outcome = await this.executor.run({
        runId: randomUUID(),
        env,
        containerName,
        prompt: request.prompt,
        sessionId,
        resume,
        model: request.model,
        maxTurns: request.maxTurns,
        allowedTools: request.allowedTools,
        disallowedTools: request.disallowedTools,
        permissionMode: request.permissionMode,
        appendSystemPrompt: request.appendSystemPrompt,
        deadlineMs: Math.min(request.timeoutMs ?? limits.timeoutMs, limits.timeoutMs),
        maxOutputBytes: limits.maxOutputBytes,
      });
      return toResponse(outcome, {
        sessionId,
        durationMs: Date.now() - startedAt,
        jsonOutput: request.jsonOutput === true,
        deadlineMs: Math.min(request.timeoutMs ?? limits.timeoutMs, limits.timeoutMs),
      });
    } finally {
      release();
    }
  }

  private checkPromptSize(prompt: string): void {
    const { maxPromptBytes } = this.config.execution;
    const size = Buffer.byteLength(prompt, 'utf8');
    if (size > maxPromptBytes) {
      throw new ApiError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        ErrorCode.PROMPT_TOO_LARGE,
        `The prompt is ${size} bytes; the limit is ${maxPromptBytes} (MAX_PROMPT_BYTES)`,
      );
    }
  }
}

function toResponse(
  outcome: RunOutcome,
  run: { sessionId: string; durationMs: number; jsonOutput: boolean; deadlineMs: number },
): ExecuteResponseDto {
  const { result } = outcome;
  const response: ExecuteResponseDto = {
    success: false,
    sessionId: run.sessionId,
    exitCode: outcome.exitCode,
    durationMs: run.durationMs,
    truncated: outcome.truncated,
  };
  if (outcome.output) response.output = outcome.output;
  if (run.jsonOutput && result) response.json_output = asPrintedByJsonFormat(result);

  switch (outcome.end) {
    case 'timeout':
      return failed(
        response,
        ExecutionErrorCode.EXECUTION_TIMEOUT,
        `The run passed its deadline of ${run.deadlineMs} ms and was stopped`,
      );
    case 'output_limit':
      return failed(
        response,
        ExecutionErrorCode.OUTPUT_LIMIT,
        'Claude Code wrote far more than MAX_OUTPUT_BYTES and was stopped',
      );
    case 'result':
      if (result && !result.is_error && result.subtype === 'success') {
        return { ...response, success: true };
      }
      return failed(response, ExecutionErrorCode.CLI_ERROR, describeResultError(result));
    case 'exited':
      return failed(
        response,
        ExecutionErrorCode.CLI_EXITED,
        outcome.failure ??
          (outcome.stderrTail || `Claude Code exited with code ${outcome.exitCode}`),
      );
  }
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

function failed(
  response: ExecuteResponseDto,
  code: ExecutionErrorCode,
  error: string,
): ExecuteResponseDto {
  return { ...response, success: false, code, error };
}

function describeResultError(result: RunOutcome['result']): string {
  if (!result) return 'Claude Code ended without a result';
  if (result.subtype === 'success') return result.result || 'Claude Code reported an error';
  const details = result.errors?.join('; ');
  return details ? `${result.subtype}: ${details}` : `Claude Code stopped: ${result.subtype}`;
}
