import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import {
  BeforeApplicationShutdown,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { SseFrame } from '../common/http/sse';
import { ContainersService } from '../containers/containers.service';
import { EnvironmentPipe } from '../containers/environment.pipe';
import { DockerService } from '../docker/docker.service';
import { ExecuteRequestDto } from '../execution/dto/execute-request.dto';
import { ExecutionErrorCode } from '../execution/execution-error-codes';
import { RunExecutor, RunOutcome } from '../execution/run-executor';
import { RunRegistry } from '../sessions/run-registry';
import { SessionsService } from '../sessions/sessions.service';
import { ExecutionStatus, isFinal } from './execution-status';
import {
  ExecutionEnd,
  ExecutionFilter,
  ExecutionRecord,
  ExecutionsRepository,
} from './executions.repository';
import { RunEvent, RunEventHub } from './run-event-hub';
import { RunQueue } from './run-queue';
import { SubmitExecutionDto } from './dto/submit-execution.dto';

export interface SubmitOptions {
  /** The synchronous route keeps its contract: a busy session is 409, not a wait. */
  rejectBusySession: boolean;
}

/** A run in flight: how to stop it, and why it was stopped. */
interface ActiveRun {
  abort: AbortController;
  stopReason?: 'cancel' | 'shutdown';
  done: Promise<void>;
  nextSeq: number;
  storedBytes: number;
}

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Every run, synchronous or not: queued, run through the RunExecutor, its events stored and
 * relayed, its end recorded. Handles cancel, the shutdown drain and recovery after a crash.
 */
@Injectable()
export class ExecutionsService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy
{
  private readonly logger = new Logger(ExecutionsService.name);
  private readonly active = new Map<string, ActiveRun>();
  private readonly finished = new Map<string, Array<() => void>>();
  private draining = false;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly environments: EnvironmentPipe,
    private readonly containers: ContainersService,
    private readonly sessions: SessionsService,
    private readonly registry: RunRegistry,
    private readonly queue: RunQueue,
    private readonly executor: RunExecutor,
    private readonly repository: ExecutionsRepository,
    private readonly hub: RunEventHub,
    private readonly docker: DockerService,
  ) {}

  /** Checks the request, records the run as queued and queues it. */
  async submit(request: SubmitExecutionDto, options: SubmitOptions): Promise<ExecutionRecord> {
    if (this.draining) {
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        ErrorCode.SHUTTING_DOWN,
        'The service is shutting down; retry shortly',
        {
          headers: { 'Retry-After': '10' },
        },
      );
    }
    const env = this.environments.transform(request.env);
    this.checkPromptSize(request.prompt);
    const sessionId = request.sessionId ?? randomUUID();
    if (options.rejectBusySession && this.isSessionBusy(env, sessionId)) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.SESSION_BUSY,
        `Session ${sessionId} is already running a prompt; wait for it to finish`,
      );
    }
    // Docker being down, or an unknown session, is refused now, not after the wait in the queue.
    await this.containers.ensureRunning(env);
    if (request.sessionId) await this.sessions.prepareRun(env, request.sessionId);
    const id = randomUUID();
    this.repository.insert({
      id,
      env,
      sessionId,
      request,
      createdAt: new Date().toISOString(),
    });
    try {
      this.queue.submit({ id, env, sessionId, start: () => this.run(id) });
    } catch (error) {
      this.repository.delete(id);
      throw error;
    }
    return this.get(id);
  }

  get(id: string): ExecutionRecord {
    const record = this.repository.get(id);
    if (!record)
      throw new ApiError(HttpStatus.NOT_FOUND, ErrorCode.EXECUTION_NOT_FOUND, `No execution ${id}`);
    return record;
  }

  list(filter: ExecutionFilter): ExecutionRecord[] {
    return this.repository.list(filter);
  }

  /** Resolves with the run's final record. */
  async waitForEnd(id: string): Promise<ExecutionRecord> {
    const record = this.get(id);
    if (isFinal(record.status)) return record;
    await new Promise<void>((resolve) => {
      const waiters = this.finished.get(id) ?? [];
      waiters.push(resolve);
      this.finished.set(id, waiters);
    });
    return this.get(id);
  }

  /**
   * A queued run leaves the queue; a running one is interrupted (then killed after a grace).
   * Either ends `cancelled`. A finished run is 409.
   */
  async cancel(id: string): Promise<ExecutionRecord> {
    const record = this.get(id);
    if (isFinal(record.status)) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.EXECUTION_FINISHED,
        `Execution ${id} has already ended (${record.status})`,
      );
    }
    if (this.queue.remove(id)) {
      this.end(id, {
        ...emptyEnd(),
        status: ExecutionStatus.cancelled,
        errorCode: ExecutionErrorCode.CANCELLED,
        error: 'Cancelled before it started',
      });
      return this.get(id);
    }
    await this.stop(id, 'cancel');
    return this.get(id);
  }

  /**
   * The run's events as SSE frames: the stored ones after `lastEventId`, then the live ones,
   * then a final `end` frame with the run's state. Throws 404 before anything is streamed.
   */
  openEventStream(
    id: string,
    lastEventId: number,
  ): (signal: AbortSignal) => AsyncGenerator<SseFrame> {
    this.get(id);
    return (signal) => this.eventFrames(id, lastEventId, signal);
  }

  onApplicationBootstrap(): void {
    this.recoverAfterCrash();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pruneTimer);
  }

  /**
   * SIGTERM: take no new runs, let the running ones finish within SHUTDOWN_GRACE_MS, then stop
   * the rest. Whatever did not finish ends `interrupted`.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    for (const run of this.queue.waiting()) {
      this.queue.remove(run.id);
      this.end(run.id, {
        ...emptyEnd(),
        status: ExecutionStatus.interrupted,
        errorCode: ExecutionErrorCode.INTERRUPTED,
        error: 'The service shut down before the run started',
      });
    }
    const running = [...this.active.values()].map((run) => run.done);
    if (running.length === 0) return;
    this.logger.log(
      `Waiting up to ${this.config.execution.shutdownGraceMs} ms for ${running.length} run(s)`,
    );
    const graceOver = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), this.config.execution.shutdownGraceMs).unref(),
    );
    await Promise.race([Promise.all(running), graceOver]);
    await Promise.all([...this.active.keys()].map((id) => this.stop(id, 'shutdown')));
  }

  private async run(id: string): Promise<void> {
    const record = this.repository.get(id);
    if (!record || record.status !== ExecutionStatus.queued) return;
    const abort = new AbortController();
    let settle: () => void = () => undefined;
    const active: ActiveRun = {
      abort,
      done: new Promise((resolve) => (settle = resolve)),
      nextSeq: 1,
      storedBytes: 0,
    };
    this.active.set(id, active);
    const startedAt = Date.now();
    this.repository.markRunning(id, new Date(startedAt).toISOString());
    try {
      const outcome = await this.execute(record, active);
      this.end(id, toEnd(outcome, active.stopReason));
    } catch (error) {
      if (!(error instanceof ApiError)) this.logger.error(`run ${id} failed: ${String(error)}`);
      this.end(id, { ...emptyEnd(), status: ExecutionStatus.failed, ...failureOf(error) });
    } finally {
      this.active.delete(id);
      settle();
    }
  }

  private async execute(record: ExecutionRecord, active: ActiveRun): Promise<RunOutcome> {
    const { request } = record;
    const limits = this.config.execution;
    const containerName = await this.containers.ensureRunning(record.env);
    // Decided now, not at submit: an earlier run in the queue may have started the transcript.
    const resume = request.sessionId
      ? (await this.sessions.prepareRun(record.env, record.sessionId)).resume
      : false;
    return this.executor.run({
      runId: record.id,
      containerName,
      prompt: request.prompt,
      sessionId: record.sessionId,
      resume,
      model: request.model,
      maxTurns: request.maxTurns,
      allowedTools: request.allowedTools,
      disallowedTools: request.disallowedTools,
      permissionMode: request.permissionMode as ExecuteRequestDto['permissionMode'],
      appendSystemPrompt: request.appendSystemPrompt,
      deadlineMs: Math.min(request.timeoutMs ?? limits.timeoutMs, limits.timeoutMs),
      maxOutputBytes: limits.maxOutputBytes,
      includePartialMessages: request.includePartialMessages,
      signal: active.abort.signal,
      onMessage: (message) => this.record(record.id, active, message),
    });
  }

  /** Numbers, stores (within the run's bounds) and relays one message. */
  private record(id: string, active: ActiveRun, message: SDKMessage): void {
    const data = JSON.stringify(message);
    const event: RunEvent = { seq: active.nextSeq, type: message.type, data };
    active.nextSeq += 1;
    const { maxEventsPerRun, maxEventBytesPerRun } = this.config.history;
    const store =
      event.seq <= maxEventsPerRun && active.storedBytes + data.length <= maxEventBytesPerRun;
    if (store) active.storedBytes += data.length;
    this.repository.appendEvent(id, event, store);
    this.hub.publish(id, event);
  }

  private async stop(id: string, reason: 'cancel' | 'shutdown'): Promise<void> {
    const active = this.active.get(id);
    if (!active) return;
    active.stopReason ??= reason;
    active.abort.abort();
    await active.done;
  }

  /** Records the end, then tells the streams and the waiters. */
  private end(id: string, end: ExecutionEnd): void {
    this.repository.finish(id, end, new Date().toISOString());
    this.hub.end(id);
    this.finished.get(id)?.forEach((resolve) => resolve());
    this.finished.delete(id);
  }

  private async *eventFrames(
    id: string,
    lastEventId: number,
    signal: AbortSignal,
  ): AsyncGenerator<SseFrame> {
    const live: RunEvent[] = [];
    let ended = false;
    let wake: () => void = () => undefined;
    // Subscribed before reading the store: nothing published in between can be missed.
    const unsubscribe = this.hub.subscribe(id, (event) => {
      if (event) live.push(event);
      else ended = true;
      wake();
    });
    const onAbort = () => wake();
    signal.addEventListener('abort', onAbort);
    try {
      let last = lastEventId;
      for (const event of this.repository.eventsAfter(id, last)) {
        yield eventFrame(event);
        last = event.seq;
      }
      if (isFinal(this.get(id).status)) ended = true;
      while (!signal.aborted) {
        for (let event = live.shift(); event; event = live.shift()) {
          if (event.seq <= last) continue;
          yield eventFrame(event);
          last = event.seq;
        }
        if (ended) {
          yield { event: 'end', data: JSON.stringify(endSummary(this.get(id))) };
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  /** Runs left `queued` or `running` by a crash: their CLIs are killed and they end `interrupted`. */
  private recoverAfterCrash(): void {
    const orphans = this.repository.withStatus([ExecutionStatus.queued, ExecutionStatus.running]);
    for (const orphan of orphans) {
      if (orphan.status === ExecutionStatus.running) {
        this.docker
          .signalRun(this.containers.containerName(orphan.env), orphan.id, 'SIGKILL')
          .catch((error: unknown) =>
            this.logger.warn(`could not stop the CLI of run ${orphan.id}: ${String(error)}`),
          );
      }
      this.end(orphan.id, {
        ...emptyEnd(),
        status: ExecutionStatus.interrupted,
        errorCode: ExecutionErrorCode.INTERRUPTED,
        error: 'The service stopped while the run was in flight',
      });
    }
    if (orphans.length > 0)
      this.logger.warn(`Marked ${orphans.length} run(s) left over by a crash as interrupted`);
  }

  private prune(): void {
    const cutoff = new Date(Date.now() - this.config.history.retentionDays * DAY_MS).toISOString();
    const pruned = this.repository.pruneBefore(cutoff);
    if (pruned > 0)
      this.logger.log(
        `Pruned ${pruned} run(s) older than ${this.config.history.retentionDays} days`,
      );
  }

  private isSessionBusy(env: string, sessionId: string): boolean {
    return (
      this.registry.isSessionRunning(env, sessionId) || this.queue.isSessionWaiting(env, sessionId)
    );
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

function eventFrame(event: RunEvent): SseFrame {
  return { id: event.seq, event: event.type, data: event.data };
}

/** What the final `end` event says about the run. */
export function endSummary(record: ExecutionRecord): Record<string, unknown> {
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

function emptyEnd(): ExecutionEnd {
  return {
    status: ExecutionStatus.failed,
    exitCode: null,
    result: null,
    truncated: false,
    costUsd: null,
    usage: null,
    resultMessage: null,
    error: null,
    errorCode: null,
  };
}

function failureOf(error: unknown): Pick<ExecutionEnd, 'error' | 'errorCode'> {
  const reason = error instanceof ApiError ? error.message : 'an internal error';
  return {
    error: `The run could not start: ${reason}`,
    errorCode: ExecutionErrorCode.SETUP_FAILED,
  };
}

/** How a run's outcome is recorded. */
export function toEnd(outcome: RunOutcome, stopReason?: 'cancel' | 'shutdown'): ExecutionEnd {
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
  switch (outcome.end) {
    case 'cancelled':
      return stopReason === 'shutdown'
        ? {
            ...base,
            status: ExecutionStatus.interrupted,
            errorCode: ExecutionErrorCode.INTERRUPTED,
            error: 'The service shut down during the run; it was stopped',
          }
        : {
            ...base,
            status: ExecutionStatus.cancelled,
            errorCode: ExecutionErrorCode.CANCELLED,
            error: 'The run was cancelled',
          };
    case 'timeout':
      return {
        ...base,
        status: ExecutionStatus.timed_out,
        errorCode: ExecutionErrorCode.EXECUTION_TIMEOUT,
        error: 'The run passed its deadline and was stopped',
      };
    case 'output_limit':
      return {
        ...base,
        status: ExecutionStatus.failed,
        errorCode: ExecutionErrorCode.OUTPUT_LIMIT,
        error: 'Claude Code wrote far more than MAX_OUTPUT_BYTES and was stopped',
      };
    case 'result':
      if (result && !result.is_error && result.subtype === 'success')
        return { ...base, status: ExecutionStatus.succeeded };
      return {
        ...base,
        status: ExecutionStatus.failed,
        errorCode: ExecutionErrorCode.CLI_ERROR,
        error: describeResultError(result),
      };
    case 'exited':
      return {
        ...base,
        status: ExecutionStatus.failed,
        errorCode: ExecutionErrorCode.CLI_EXITED,
        error:
          outcome.failure ??
          (outcome.stderrTail || `Claude Code exited with code ${outcome.exitCode}`),
      };
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

function describeResultError(result: RunOutcome['result']): string {
  if (!result) return 'Claude Code ended without a result';
  if (result.subtype === 'success') return result.result || 'Claude Code reported an error';
  const details = result.errors?.join('; ');
  return details ? `${result.subtype}: ${details}` : `Claude Code stopped: ${result.subtype}`;
}
