import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ReplicaBus } from '../common/coordination/replica-bus';
import {
  ReplicaDidNotAnswer,
  ReplicaRequestKind,
  ReplicaRequests,
} from '../common/coordination/replica-requests';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { AnswerApprovalDto } from './dto/approval.dto';
import { AnswerQuestionDto } from './dto/question.dto';
import { StopReason } from './execution-outcome';
import { ExecutionsRepository } from './executions.repository';
import { PendingAsks, RunApprovals } from './run-approvals';
import { RunLifecycle } from './run-lifecycle';

/**
 * The bound on a dead replica's runs: they end `interrupted` within its lease's TTL and a period
 * of the reaper (10 s + 5 s), whichever replica reaps them.
 */
export const DEAD_REPLICA_RUNS_END_WITHIN_S = 15;

interface StopRun {
  runId: string;
  reason: StopReason;
}

interface AnswerRun<A> {
  runId: string;
  requestId: string;
  answer: A;
}

const STOP_REASONS: readonly StopReason[] = ['cancel', 'steer', 'shutdown'];

const STOP_RUN: ReplicaRequestKind<StopRun, boolean> = {
  name: 'run.stop',
  parsePayload: (value) => {
    const { runId, reason } = (value ?? {}) as Partial<StopRun>;
    if (typeof runId !== 'string' || !STOP_REASONS.includes(reason as StopReason)) {
      throw new Error('not a {runId, reason}');
    }
    return { runId, reason: reason as StopReason };
  },
  parseResult: (value) => value === true,
};

/** An answer as the route's pipe takes it: checked again, as it comes from the bus. */
function answerKind<A extends object>(
  name: string,
  dto: new () => A,
): ReplicaRequestKind<AnswerRun<A>, null> {
  return {
    name,
    parsePayload: (value) => {
      const { runId, requestId, answer } = (value ?? {}) as Partial<AnswerRun<unknown>>;
      if (typeof runId !== 'string' || typeof requestId !== 'string') {
        throw new Error('not a {runId, requestId, answer}');
      }
      const checked = plainToInstance(dto, answer);
      const problems = validateSync(checked, { whitelist: true, forbidNonWhitelisted: true });
      if (typeof answer !== 'object' || problems.length > 0) throw new Error('not an answer');
      return { runId, requestId, answer: checked };
    },
    parseResult: () => null,
  };
}

const PENDING_ASKS: ReplicaRequestKind<string, PendingAsks> = {
  name: 'run.pendingAsks',
  parsePayload: (value) => {
    if (typeof value !== 'string') throw new Error('not a run id');
    return value;
  },
  parseResult: (value) => {
    const { approvals, questions } = (value ?? {}) as Partial<PendingAsks>;
    if (!Array.isArray(approvals) || !Array.isArray(questions)) {
      throw new Error('not an {approvals, questions}');
    }
    return { approvals, questions };
  },
};

const ANSWER_APPROVAL = answerKind('run.answerApproval', AnswerApprovalDto);
const ANSWER_QUESTION = answerKind('run.answerQuestion', AnswerQuestionDto);

/**
 * Beyond CANCEL_GRACE_MS, how long the owner may take to stop a run: the kill of a CLI that
 * lingers, and the record of its end.
 */
const STOP_MARGIN_MS = 10_000;
/** How long the owner may take to hand an answer to the run that waits on it. */
const ANSWER_WITHIN_MS = 5_000;

/**
 * What is done to a running run where it runs: stopping it, answering what it asks. A run lives
 * in the memory of the replica that owns it (`owner_replica`); a request that reaches another
 * replica is handed to the owner over the bus, which answers with the same statuses and errors
 * as it would itself. An owner that does not answer is 503 REPLICA_UNREACHABLE: if it is gone,
 * the liveness reaper ends its runs. Without REDIS_URL every run is this replica's.
 */
@Injectable()
export class RunControl {
  private readonly logger = new Logger(RunControl.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly lifecycle: RunLifecycle,
    private readonly approvals: RunApprovals,
    private readonly repository: ExecutionsRepository,
    private readonly bus: ReplicaBus,
    private readonly requests: ReplicaRequests,
  ) {
    requests.handle(STOP_RUN, ({ runId, reason }) => this.lifecycle.stop(runId, reason));
    requests.handle(PENDING_ASKS, (runId) => Promise.resolve(this.approvals.pending(runId)));
    requests.handle(ANSWER_APPROVAL, ({ runId, requestId, answer }) => {
      this.approvals.answer(runId, requestId, answer);
      return Promise.resolve(null);
    });
    requests.handle(ANSWER_QUESTION, ({ runId, requestId, answer }) => {
      this.approvals.answerQuestion(runId, requestId, answer);
      return Promise.resolve(null);
    });
  }

  /**
   * Interrupts the running run wherever it runs, and resolves once it has ended (at once when it
   * runs nowhere). 503 REPLICA_UNREACHABLE when its replica does not answer.
   */
  async stop(id: string, reason: StopReason): Promise<void> {
    if (await this.lifecycle.stop(id, reason)) return;
    const owner = await this.otherOwner(id);
    if (!owner) return;
    const stopWithinMs = this.config.execution.cancelGraceMs + STOP_MARGIN_MS;
    await this.onOwner(id, owner, STOP_RUN, { runId: id, reason }, stopWithinMs);
  }

  /** `stop`, not waited for: a failure is logged (a dead owner's runs end through the reaper). */
  stopInBackground(id: string, reason: StopReason): void {
    this.stop(id, reason).catch((error: Error) => {
      this.logger.warn(`Could not stop execution ${id} (${reason}): ${error.message}`);
    });
  }

  /** Answers an approval the run waits on, where it runs (404, 409 as RunApprovals says). */
  answerApproval(id: string, requestId: string, answer: AnswerApprovalDto): Promise<void> {
    return this.whereItRuns(id, ANSWER_APPROVAL, { runId: id, requestId, answer }, () =>
      this.approvals.answer(id, requestId, answer),
    );
  }

  /** Answers the questions the run waits on, where it runs. */
  answerQuestion(id: string, requestId: string, answer: AnswerQuestionDto): Promise<void> {
    return this.whereItRuns(id, ANSWER_QUESTION, { runId: id, requestId, answer }, () =>
      this.approvals.answerQuestion(id, requestId, answer),
    );
  }

  /**
   * What the running run waits on, from the replica that runs it. An owner that does not answer
   * shows nothing pending (logged), rather than failing a read: its run ends through the reaper.
   */
  async pending(id: string): Promise<PendingAsks> {
    const owner = await this.remoteRunner(id);
    if (!owner) return this.approvals.pending(id);
    try {
      return await this.requests.ask(owner, PENDING_ASKS, id, ANSWER_WITHIN_MS);
    } catch (error) {
      this.logger.warn(`Could not read what execution ${id} waits on: ${(error as Error).message}`);
      return { approvals: [], questions: [] };
    }
  }

  /** Does it here when the run runs here or no other replica owns it, else asks the owner. */
  private async whereItRuns<P>(
    id: string,
    kind: ReplicaRequestKind<P, null>,
    payload: P,
    here: () => void,
  ): Promise<void> {
    const owner = await this.remoteRunner(id);
    if (owner) await this.onOwner(id, owner, kind, payload, ANSWER_WITHIN_MS);
    else here();
  }

  /** The replica that runs it, when it does not run here and another replica owns it. */
  private async remoteRunner(id: string): Promise<string | null> {
    return this.lifecycle.isActive(id) ? null : this.otherOwner(id);
  }

  /** The replica that owns the run, when there are replicas and it is another one. */
  private async otherOwner(id: string): Promise<string | null> {
    if (!this.bus.shared) return null;
    const owner = await this.repository.ownerOf(id);
    return owner !== null && owner !== this.bus.replicaId ? owner : null;
  }

  private async onOwner<P, R>(
    id: string,
    owner: string,
    kind: ReplicaRequestKind<P, R>,
    payload: P,
    withinMs: number,
  ): Promise<R> {
    try {
      return await this.requests.ask(owner, kind, payload, withinMs);
    } catch (error) {
      if (error instanceof ReplicaDidNotAnswer) throw ownerUnreachable(id, error);
      throw error;
    }
  }
}

function ownerUnreachable(id: string, error: ReplicaDidNotAnswer): ApiError {
  return new ApiError(
    HttpStatus.SERVICE_UNAVAILABLE,
    ErrorCode.REPLICA_UNREACHABLE,
    `Execution ${id} runs on replica ${error.replica}, which ${error.reason}; if that replica is gone, its runs end interrupted within ${DEAD_REPLICA_RUNS_END_WITHIN_S} s`,
    { headers: { 'Retry-After': String(DEAD_REPLICA_RUNS_END_WITHIN_S) } },
  );
}
