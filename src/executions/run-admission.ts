import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ContainersService } from '../containers/containers.service';
import { sessionBusy } from '../sessions/sessions.errors';
import { SessionsService } from '../sessions/sessions.service';
import { RunExecutor } from '../agent/run-executor';
import { PermissionMode } from '../common/config/permission-mode';
import { ExecutionRequest } from './execution-request';
import { SqlExecutor } from '../store/sql-store';
import { RunBudgets } from './run-budgets';
import { RunQueue } from './run-queue';

export interface Admitted {
  /** The request as it runs: its permission mode resolved against its environment's default. */
  request: ExecutionRequest;
  env: string;
  sessionId: string;
  /** Lets go of the hold on the environment's container. */
  letGo: () => void;
}

export interface AdmitOptions {
  /** The synchronous route keeps its contract: a busy session is 409, not a wait. */
  rejectBusySession: boolean;
  /** The submitting token: its runs count against TOKEN_RUN_QUOTA. */
  tokenId: string;
}

/**
 * Decides whether a request may become a run, before anything is recorded: a known environment,
 * a prompt within MAX_PROMPT_BYTES, room in the budgets, a container that runs, a session that
 * exists. Docker being down, or an unknown session, is refused now rather than after the wait in
 * the queue.
 */
@Injectable()
export class RunAdmission {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly containers: ContainersService,
    private readonly sessions: SessionsService,
    private readonly queue: RunQueue,
    private readonly executor: RunExecutor,
    private readonly budgets: RunBudgets,
  ) {}

  /**
   * Returns the run's environment and session id, and a hold on its container to let go of once
   * the run is queued (a run holds it itself from its start); throws the request's 4xx/5xx
   * otherwise.
   */
  async admit(request: ExecutionRequest, options: AdmitOptions): Promise<Admitted> {
    const { env } = request;
    this.containers.checkEnvironment(env);
    this.checkPromptSize(request.prompt);
    request = this.withPermissionMode(request);
    // Before the container is started for a run that would be refused.
    await this.budgets.check(env, options.tokenId);
    // A new session takes a spare CLI's id when one fits: its first turn skips the start.
    const sessionId =
      request.sessionId ??
      this.executor.takeSpareSessionId(this.containers.containerName(env), request) ??
      randomUUID();
    if (options.rejectBusySession && (await this.queue.isSessionBusy(env, sessionId))) {
      throw sessionBusy(sessionId);
    }
    // The container started here is not stopped for idleness before the run gets to it.
    const letGo = this.containers.hold(env);
    try {
      await this.containers.ensureRunning(env);
      // A session whose first turn is still in flight may have no transcript yet, but it exists.
      if (request.sessionId && !(await this.queue.hasRunInFlight(env, sessionId))) {
        await this.sessions.prepareRun(env, request.sessionId);
      }
    } catch (error) {
      letGo();
      throw error;
    }
    return { request, env, sessionId, letGo };
  }

  /**
   * The budgets once more, in one transaction with `record` (which records the run): submits that
   * were admitted meanwhile may have used up the room.
   */
  recordWithinBudgets<T>(
    env: string,
    tokenId: string,
    record: (tx: SqlExecutor) => Promise<T>,
  ): Promise<T> {
    return this.budgets.checkAndRecord(env, tokenId, record);
  }

  /**
   * The request in its environment's default mode when it names none. A mode it names must be one
   * a client may ask for there (the default is always fine), and approvals need a mode that asks.
   */
  private withPermissionMode(request: ExecutionRequest): ExecutionRequest {
    const { env, permissionMode: asked } = request;
    const policy = this.config.execution.permissions[env];
    if (asked && asked !== policy.defaultMode && !policy.allowed.includes(asked)) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        ErrorCode.PERMISSION_MODE_NOT_ALLOWED,
        `permissionMode ${asked} is not allowed in ${env}; a client may name ${policy.allowed.join(', ')}`,
      );
    }
    const mode = asked ?? policy.defaultMode;
    if (request.approvals && MODES_THAT_NEVER_ASK.has(mode)) {
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        ErrorCode.VALIDATION_FAILED,
        asked
          ? `approvals cannot be combined with permissionMode ${mode}, which never asks`
          : `approvals cannot be combined with ${env}'s default permissionMode ${mode}, which never asks; name another permissionMode`,
      );
    }
    return { ...request, permissionMode: mode };
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

/** Modes in which the CLI never asks: approvals there would promise a person a say they lack. */
const MODES_THAT_NEVER_ASK: ReadonlySet<PermissionMode> = new Set([
  PermissionMode.bypassPermissions,
  PermissionMode.dontAsk,
]);
