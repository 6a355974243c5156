import { HttpStatus, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EnvironmentScope } from '../common/auth/authenticated-request';
import { EventsTokens } from '../common/auth/events-tokens';
import { ReplicaBus } from '../common/coordination/replica-bus';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { pageNewestFirst } from '../common/http/cursor';
import { AnswerApprovalDto } from './dto/approval.dto';
import { AnswerQuestionDto } from './dto/question.dto';
import { ExecutionDto, ExecutionListDto, SubmittedExecutionDto } from './dto/execution.dto';
import { ListExecutionsQueryDto } from './dto/list-executions-query.dto';
import { endWithoutRun, toExecutionDto } from './execution-outcome';
import { ExecutionRequest, WhenSessionBusy } from './execution-request';
import { ExecutionStatus, isFinal } from './execution-status';
import { visibleRun } from './executions.errors';
import { ExecutionRecord, ExecutionsRepository, ExecutionSummary } from './executions.repository';
import { RunAdmission } from './run-admission';
import { RunApprovals } from './run-approvals';
import { RunControl } from './run-control';
import { RunLifecycle } from './run-lifecycle';
import { RunQueue } from './run-queue';

/** Every run, synchronous or not, goes in here: admitted, recorded as queued, then queued. */
@Injectable()
export class ExecutionsService {
  constructor(
    private readonly admission: RunAdmission,
    private readonly repository: ExecutionsRepository,
    private readonly queue: RunQueue,
    private readonly lifecycle: RunLifecycle,
    private readonly eventsTokens: EventsTokens,
    private readonly approvals: RunApprovals,
    private readonly bus: ReplicaBus,
    private readonly control: RunControl,
  ) {}

  /**
   * Admits, records and queues a run. On a busy session it waits its turn, is refused, or steers
   * (per `whenSessionBusy`, else `whenBusy`): the session's running run is stopped and this one
   * goes first.
   */
  async submit(
    request: ExecutionRequest,
    whenBusy: WhenSessionBusy,
    tokenId: string,
  ): Promise<ExecutionRecord> {
    const busy = request.whenSessionBusy ?? whenBusy;
    this.lifecycle.assertAccepting();
    const admitted = await this.admission.admit(request, {
      rejectBusySession: busy === WhenSessionBusy.reject,
      tokenId,
    });
    const { env, sessionId, letGo } = admitted;
    try {
      // The drain may have begun while the container and the session were checked.
      this.lifecycle.assertAccepting();
      return await this.enqueue(admitted.request, busy, env, sessionId, tokenId);
    } finally {
      // Queued by now, or started (then the run holds the container itself).
      letGo();
    }
  }

  /**
   * Records the run, and the token that submitted it, if the budgets still have room (submits
   * admitted meanwhile may have used it up), and queues it (steering per `busy`).
   */
  private async enqueue(
    request: ExecutionRequest,
    busy: WhenSessionBusy,
    env: string,
    sessionId: string,
    tokenId: string,
  ): Promise<ExecutionRecord> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const record = await this.admission.recordWithinBudgets(env, tokenId, async (tx) => {
      const ownerReplica = this.bus.replicaId;
      await this.repository.insert(
        { id, env, sessionId, request, createdAt, ownerReplica },
        tokenId,
        tx,
      );
      return visibleRun(await this.repository.get(id, tx), id, null);
    });
    // Only a run it stops lets it jump the queue: it takes that run's slot, and no other.
    const steered =
      busy === WhenSessionBusy.steer ? await this.queue.runningOf(env, sessionId) : undefined;
    try {
      const start = () => this.lifecycle.run(record);
      await this.queue.submit({ id, env, sessionId, start }, { first: steered !== undefined });
    } catch (error) {
      await this.repository.delete(id);
      throw error;
    }
    // Queued first, then stopped: the slot the stopped run frees goes to this one.
    if (steered) this.control.stopInBackground(steered, 'steer');
    return record;
  }

  /** A background run, with the token a browser needs to follow its events. */
  async submitInBackground(
    request: ExecutionRequest,
    tokenId: string,
  ): Promise<SubmittedExecutionDto> {
    const record = await this.submit(request, WhenSessionBusy.queue, tokenId);
    const { token, expiresAt } = this.eventsTokens.issue(record.id);
    return { ...(await this.toDto(record)), eventsToken: token, eventsTokenExpiresAt: expiresAt };
  }

  /** The run, if it is in one of `environments` (else 404, as if it did not exist). */
  async get(id: string, environments: EnvironmentScope): Promise<ExecutionDto> {
    return this.toDto(await this.find(id, environments));
  }

  /** The history, of `environments` only. */
  list(query: ListExecutionsQueryDto, environments: EnvironmentScope): Promise<ExecutionListDto> {
    const inEnvironments = environments === null ? undefined : [...environments];
    return pageNewestFirst(
      query,
      (before, limit) => this.repository.list({ ...query, inEnvironments, before, limit }),
      (record) => this.toDto(record),
    );
  }

  /**
   * A queued run leaves the queue; a running one is interrupted (then killed after a grace).
   * Either ends `cancelled`, on whichever replica runs it. A finished run is 409.
   */
  async cancel(id: string, environments: EnvironmentScope): Promise<ExecutionDto> {
    const record = await this.find(id, environments);
    if (isFinal(record.status)) throw executionFinished(record);
    if (await this.queue.remove(id)) await this.lifecycle.endQueued(id, endWithoutRun('cancelled'));
    else await this.control.stop(id, 'cancel');
    return this.get(id, environments);
  }

  /** Answers a pending approval of a running run (409 once the run has ended). */
  answerApproval(
    id: string,
    requestId: string,
    answer: AnswerApprovalDto,
    environments: EnvironmentScope,
  ): Promise<ExecutionDto> {
    return this.answerRunning(id, environments, () =>
      this.control.answerApproval(id, requestId, answer),
    );
  }

  /** Answers the pending questions of a running run (409 once the run has ended). */
  answerQuestion(
    id: string,
    requestId: string,
    answer: AnswerQuestionDto,
    environments: EnvironmentScope,
  ): Promise<ExecutionDto> {
    return this.answerRunning(id, environments, () =>
      this.control.answerQuestion(id, requestId, answer),
    );
  }

  private async answerRunning(
    id: string,
    environments: EnvironmentScope,
    answer: () => Promise<void>,
  ): Promise<ExecutionDto> {
    const record = await this.find(id, environments);
    if (isFinal(record.status)) throw executionFinished(record);
    await answer();
    return this.toDto(record);
  }

  /** The stored run, with what it waits on now (kept in memory while it waits or runs). */
  private async toDto(record: ExecutionSummary): Promise<ExecutionDto> {
    const place =
      record.status === ExecutionStatus.queued ? await this.queue.placeOf(record.id) : undefined;
    // A running run may wait on a person on whichever replica runs it.
    const pending =
      record.status === ExecutionStatus.running
        ? await this.control.pending(record.id)
        : this.approvals.pending(record.id);
    return toExecutionDto(record, pending, place);
  }

  /** The run, if it is in one of `environments`: a scoped token never learns of others' runs. */
  private async find(id: string, environments: EnvironmentScope): Promise<ExecutionRecord> {
    return visibleRun(await this.repository.get(id), id, environments);
  }
}

function executionFinished(record: ExecutionRecord): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.EXECUTION_FINISHED,
    `Execution ${record.id} has already ended (${record.status})`,
  );
}
