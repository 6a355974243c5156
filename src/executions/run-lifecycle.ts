import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { LimitHit } from '../agent/limit-report';
import { RunExecutor, RunOutcome } from '../agent/run-executor';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ContainersService } from '../containers/containers.service';
import { SessionsService } from '../sessions/sessions.service';
import { endOfSetupFailure, StopReason, toEnd } from './execution-outcome';
import { ExecutionEnd, ExecutionRecord } from './executions.repository';
import { RunApprovals } from './run-approvals';
import { EventTally, RunRecorder } from './run-recorder';
import { WarmSessionReleases } from './warm-session-releases';

/**
 * What a run can leave behind that keeps the next ones from working: forks that go on after the
 * run, a /tmp that stays full. An OOM kill has already ended its process.
 */
const LIMITS_THAT_LINGER: ReadonlySet<LimitHit> = new Set(['pids', 'tmp']);

/** A run in flight: how to stop it, and why it was stopped. */
interface ActiveRun {
  abort: AbortController;
  stopReason?: StopReason;
  done: Promise<void>;
}

/**
 * The runs in flight: each one is set up (container, session), handed to the RunExecutor, and
 * recorded until its end. Stops runs on cancel and on shutdown, after which it takes none.
 */
@Injectable()
export class RunLifecycle {
  private readonly logger = new Logger(RunLifecycle.name);
  private readonly active = new Map<string, ActiveRun>();
  private readonly recovering = new Map<string, Promise<void>>();
  private accepting = true;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly containers: ContainersService,
    private readonly sessions: SessionsService,
    private readonly executor: RunExecutor,
    private readonly recorder: RunRecorder,
    private readonly approvals: RunApprovals,
    private readonly warmSessions: WarmSessionReleases,
  ) {}

  /** Throws 503 SHUTTING_DOWN once the drain has begun. */
  assertAccepting(): void {
    if (this.accepting) return;
    throw new ApiError(
      HttpStatus.SERVICE_UNAVAILABLE,
      ErrorCode.SHUTTING_DOWN,
      'The service is shutting down; retry shortly',
      { headers: { 'Retry-After': '10' } },
    );
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  /** Runs a queued run to its end; never throws. */
  async run(record: ExecutionRecord): Promise<void> {
    let settle: () => void = () => undefined;
    const active: ActiveRun = {
      abort: new AbortController(),
      done: new Promise((resolve) => (settle = resolve)),
    };
    this.active.set(record.id, active);
    const tally = this.recorder.started(record);
    // Held before the container is started, so an idle stop never stops it under the run.
    const letGo = this.containers.hold(record.env);
    try {
      const outcome = await this.execute(record, active, tally);
      // Before the end is told, so the next run finds the environment fit again.
      if (outcome.limit && LIMITS_THAT_LINGER.has(outcome.limit)) await this.recover(record.env);
      const structured = record.request.outputSchema !== undefined;
      await this.recorder.ended(record.id, toEnd(outcome, active.stopReason, structured));
    } catch (error) {
      if (!(error instanceof ApiError))
        this.logger.error(`run ${record.id} failed: ${String(error)}`);
      await this.recorder.ended(record.id, endOfSetupFailure(error));
    } finally {
      letGo();
      this.approvals.forget(record.id);
      this.active.delete(record.id);
      settle();
    }
  }

  /**
   * Restarts an environment's container that a run left unfit (processes that fork forever, a full
   * /tmp); a failure is logged, and the next run starts the container as usual.
   */
  private recover(env: string): Promise<void> {
    // Runs that shared the container when it hit the limit all see it: one restart serves them.
    let recovery = this.recovering.get(env);
    if (!recovery) {
      this.logger.warn(`The container of ${env} hit a limit; restarting it`);
      recovery = this.containers
        .restart(env)
        .catch((error: unknown) => {
          this.logger.error(`Could not restart the container of ${env}: ${String(error)}`);
        })
        .finally(() => this.recovering.delete(env));
      this.recovering.set(env, recovery);
    }
    return recovery;
  }

  /** Ends a run that left the queue before it started. */
  endQueued(id: string, end: ExecutionEnd): Promise<void> {
    return this.recorder.ended(id, end);
  }

  /** Whether the run runs here. */
  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Interrupts a running run and waits for its end; false when it is not running here. */
  async stop(id: string, reason: StopReason): Promise<boolean> {
    const active = this.active.get(id);
    if (!active) return false;
    active.stopReason ??= reason;
    active.abort.abort();
    await active.done;
    return true;
  }

  /** Waits up to `graceMs` for the running runs, then stops the rest. */
  async drain(graceMs: number): Promise<void> {
    const running = [...this.active.values()].map((run) => run.done);
    if (running.length === 0) return;
    this.logger.log(`Waiting up to ${graceMs} ms for ${running.length} run(s)`);
    const graceOver = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(running), graceOver]);
    await Promise.all([...this.active.keys()].map((id) => this.stop(id, 'shutdown')));
  }

  private async execute(
    record: ExecutionRecord,
    active: ActiveRun,
    tally: EventTally,
  ): Promise<RunOutcome> {
    const { request } = record;
    const limits = this.config.execution;
    const containerName = await this.containers.ensureRunning(record.env);
    // Decided now, not at submit: an earlier run in the queue may have started the transcript.
    const resume = request.sessionId
      ? (await this.sessions.prepareRun(record.env, record.sessionId)).resume
      : false;
    // Other replicas' warm CLIs of the session would miss this turn: they close them.
    await this.warmSessions.turnStarting(containerName, record.sessionId);
    try {
      return await this.executor.run({
        ...request,
        runId: record.id,
        containerName,
        sessionId: record.sessionId,
        resume,
        deadlineMs: Math.min(request.timeoutMs ?? limits.timeoutMs, limits.timeoutMs),
        maxOutputBytes: limits.maxOutputBytes,
        signal: active.abort.signal,
        onMessage: (message) => this.recorder.message(record.id, tally, message),
        askApproval: request.approvals
          ? (ask, signal) => this.approvals.ask(record.id, tally, ask, signal)
          : undefined,
      });
    } finally {
      // Before the end is recorded: what still waits is denied, and told so.
      this.approvals.denyPending(record.id);
    }
  }
}
