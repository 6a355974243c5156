import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApprovalAnswer, ApprovalAsk } from '../agent/run-executor';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { AnswerApprovalDto, PendingApprovalDto } from './dto/approval.dto';
import { EventTally, RunRecorder } from './run-recorder';

/** Why an approval stopped waiting, as the `approval_resolved` event tells it. */
type ResolvedBy = 'person' | 'timeout' | 'run_ended';

interface Pending {
  view: PendingApprovalDto;
  settle: (answer: ApprovalAnswer, by: ResolvedBy) => void;
}

/** What one running run has asked: the approvals still waiting, and the ids already answered. */
interface RunAsks {
  pending: Map<string, Pending>;
  answered: Set<string>;
}

/**
 * The approvals of the runs in flight. Each ask is told as an `approval_request` event and waits
 * for a person's answer; its end is told as `approval_resolved`. Nobody answering within
 * APPROVAL_TIMEOUT_MS, a cancel, or the run's end denies it: a tool never runs unanswered.
 * Kept in memory, as the runs are: a run that outlives the service is interrupted anyway.
 */
@Injectable()
export class RunApprovals {
  private readonly runs = new Map<string, RunAsks>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly recorder: RunRecorder,
  ) {}

  /** Records the ask and resolves with the answer (a deny on timeout or when `signal` aborts). */
  ask(
    runId: string,
    tally: EventTally,
    ask: ApprovalAsk,
    signal: AbortSignal,
  ): Promise<ApprovalAnswer> {
    const asks = this.asksOf(runId);
    const requestId = randomUUID();
    const now = Date.now();
    const view: PendingApprovalDto = {
      requestId,
      ...ask,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.config.execution.approvalTimeoutMs).toISOString(),
    };
    return new Promise<ApprovalAnswer>((resolve) => {
      const onAbort = () => settle(denial('The run stopped waiting for the approval'), 'run_ended');
      const timer = setTimeout(
        () => settle(denial('Nobody answered the approval in time'), 'timeout'),
        this.config.execution.approvalTimeoutMs,
      );
      const settle = (answer: ApprovalAnswer, by: ResolvedBy) => {
        if (!asks.pending.delete(requestId)) return;
        asks.answered.add(requestId);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.recorder.event(runId, tally, 'approval_resolved', {
          requestId,
          decision: answer.behavior,
          by,
          ...(answer.behavior === 'deny' ? { message: answer.message } : {}),
        });
        resolve(answer);
      };
      asks.pending.set(requestId, { view, settle });
      this.recorder.event(runId, tally, 'approval_request', view);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A person's answer; 404 for an id this run never asked, 409 for one already answered. */
  answer(runId: string, requestId: string, answer: AnswerApprovalDto): void {
    const asks = this.runs.get(runId);
    const pending = asks?.pending.get(requestId);
    if (pending) {
      pending.settle(
        answer.decision === 'allow'
          ? { behavior: 'allow', updatedInput: answer.updatedInput }
          : { behavior: 'deny', message: answer.message ?? 'A person denied this tool use' },
        'person',
      );
      return;
    }
    if (asks?.answered.has(requestId)) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.APPROVAL_ANSWERED,
        `Approval ${requestId} of execution ${runId} has already been answered`,
      );
    }
    throw new ApiError(
      HttpStatus.NOT_FOUND,
      ErrorCode.APPROVAL_NOT_FOUND,
      `Execution ${runId} has no approval ${requestId}`,
    );
  }

  /** The approvals the run waits on, oldest first. */
  pending(runId: string): PendingApprovalDto[] {
    return [...(this.runs.get(runId)?.pending.values() ?? [])].map((pending) => pending.view);
  }

  /**
   * Denies what the run still waits on, once its CLI is done and before its end is recorded. The
   * answered ids stay until `forget`: a late answer meanwhile (a container restart after a limit
   * hit can take seconds) is told 409, not 404.
   */
  denyPending(runId: string): void {
    for (const pending of [...(this.runs.get(runId)?.pending.values() ?? [])]) {
      pending.settle(denial('The run ended before the approval was answered'), 'run_ended');
    }
  }

  /** Forgets the run, once its end is recorded (answers then get 409 EXECUTION_FINISHED). */
  forget(runId: string): void {
    this.runs.delete(runId);
  }

  private asksOf(runId: string): RunAsks {
    let asks = this.runs.get(runId);
    if (!asks) {
      asks = { pending: new Map(), answered: new Set() };
      this.runs.set(runId, asks);
    }
    return asks;
  }
}

function denial(message: string): ApprovalAnswer {
  return { behavior: 'deny', message };
}
