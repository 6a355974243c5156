import type { PermissionUpdate } from '@anthropic-ai/claude-agent-sdk';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApprovalAnswer, ApprovalAsk } from '../agent/run-executor';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ServiceEvents } from '../common/events/service-events';
import { ErrorCode } from '../common/errors/error-codes';
import { AnswerApprovalDto, ApprovalScope, PendingApprovalDto } from './dto/approval.dto';
import { AnswerQuestionDto, PendingQuestionDto, QuestionDto } from './dto/question.dto';
import { answersFor, ASK_USER_QUESTION, readQuestions } from './run-questions';
import { EventTally, RunRecorder } from './run-recorder';

/** Why an ask stopped waiting, as its `*_resolved` event tells it. */
type ResolvedBy = 'person' | 'timeout' | 'run_ended';

/**
 * What a person is asked: an approval of a tool use, or the model's questions (AskUserQuestion).
 * Each kind has its events (`approval_request`…), its route and its error codes.
 */
type AskKind = 'approval' | 'question';

interface Pending {
  kind: AskKind;
  ask: ApprovalAsk;
  view: PendingApprovalDto | PendingQuestionDto;
  /** The questions, parsed, for a question request. */
  questions?: QuestionDto[];
  /** Ends the wait with `answer`; `told` is what the `*_resolved` event adds. */
  settle: (answer: ApprovalAnswer, by: ResolvedBy, told: Record<string, unknown>) => void;
}

/** What one running run has asked: what still waits, and the ids already answered. */
interface RunAsks {
  pending: Map<string, Pending>;
  answered: Map<string, AskKind>;
}

/** What a run waits on now, as the execution resource lists it. */
export interface PendingAsks {
  approvals: PendingApprovalDto[];
  questions: PendingQuestionDto[];
}

const NOT_FOUND: Record<AskKind, ErrorCode> = {
  approval: ErrorCode.APPROVAL_NOT_FOUND,
  question: ErrorCode.QUESTION_NOT_FOUND,
};
const ANSWERED: Record<AskKind, ErrorCode> = {
  approval: ErrorCode.APPROVAL_ANSWERED,
  question: ErrorCode.QUESTION_ANSWERED,
};

/**
 * What the runs in flight ask a person. Each ask is told as an `approval_request` (or
 * `question_request`) event and waits for a person's answer; its end is told as
 * `approval_resolved` (`question_resolved`). Nobody answering within APPROVAL_TIMEOUT_MS, a
 * cancel, or the run's end denies it: a tool never runs unanswered, and a question is declined.
 * Kept in memory, as the runs are: a run that outlives the service is interrupted anyway.
 */
@Injectable()
export class RunApprovals {
  private readonly runs = new Map<string, RunAsks>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly recorder: RunRecorder,
    private readonly serviceEvents: ServiceEvents,
  ) {}

  /** Records the ask and resolves with the answer (a deny on timeout or when `signal` aborts). */
  ask(
    runId: string,
    tally: EventTally,
    ask: ApprovalAsk,
    signal: AbortSignal,
  ): Promise<ApprovalAnswer> {
    if (ask.tool !== ASK_USER_QUESTION) {
      return this.wait(runId, tally, { kind: 'approval', ask }, signal, (base) => ({
        ...base,
        ...ask,
      }));
    }
    const questions = readQuestions(ask.input);
    // Never shown as a bare yes/no: questions without their options are not asked at all.
    if (!questions) return Promise.resolve(denial('The questions were not shaped as expected'));
    return this.wait(runId, tally, { kind: 'question', ask, questions }, signal, (base) => ({
      requestId: base.requestId,
      toolUseId: ask.toolUseId,
      questions,
      requestedAt: base.requestedAt,
      expiresAt: base.expiresAt,
    }));
  }

  /**
   * A person's answer to an approval; 404 for an id this run never asked, 409 for one already
   * answered. With `scope: session`, the ask's allow rules are remembered for the session.
   */
  answer(runId: string, requestId: string, answer: AnswerApprovalDto): void {
    const pending = this.pendingOf(runId, requestId, 'approval');
    if (answer.decision === 'deny') {
      if (answer.scope === ApprovalScope.session) {
        throw new ApiError(
          HttpStatus.BAD_REQUEST,
          ErrorCode.VALIDATION_FAILED,
          'scope session only goes with decision allow',
        );
      }
      const message = answer.message ?? 'A person denied this tool use';
      pending.settle({ behavior: 'deny', message }, 'person', { decision: 'deny', message });
      return;
    }
    const remembered =
      answer.scope === ApprovalScope.session ? forThisSession(pending.ask.suggestions) : [];
    pending.settle(
      {
        behavior: 'allow',
        updatedInput: answer.updatedInput,
        ...(remembered.length > 0 ? { updatedPermissions: remembered } : {}),
      },
      'person',
      answer.scope === ApprovalScope.session
        ? { decision: 'allow', scope: answer.scope, remembered }
        : { decision: 'allow' },
    );
  }

  /** A person's answers to a question request (404, 409 as for approvals; 400 for bad answers). */
  answerQuestion(runId: string, requestId: string, answer: AnswerQuestionDto): void {
    const pending = this.pendingOf(runId, requestId, 'question');
    const answers = answersFor(pending.questions ?? [], answer.answers);
    // As the CLI's own dialog answers: the tool's input with the answers, keyed by question.
    pending.settle(
      { behavior: 'allow', updatedInput: { ...pending.ask.input, answers } },
      'person',
      {
        answered: true,
        answers,
      },
    );
  }

  /** What the run waits on, oldest first. */
  pending(runId: string): PendingAsks {
    const all = [...(this.runs.get(runId)?.pending.values() ?? [])];
    return {
      approvals: all.filter((p) => p.kind === 'approval').map((p) => p.view as PendingApprovalDto),
      questions: all.filter((p) => p.kind === 'question').map((p) => p.view as PendingQuestionDto),
    };
  }

  /**
   * Denies what the run still waits on, once its CLI is done and before its end is recorded. The
   * answered ids stay until `forget`: a late answer meanwhile (a container restart after a limit
   * hit can take seconds) is told 409, not 404.
   */
  denyPending(runId: string): void {
    for (const pending of [...(this.runs.get(runId)?.pending.values() ?? [])]) {
      settleUnanswered(pending, 'The run ended before it was answered', 'run_ended');
    }
  }

  /** Forgets the run, once its end is recorded (answers then get 409 EXECUTION_FINISHED). */
  forget(runId: string): void {
    this.runs.delete(runId);
  }

  private wait(
    runId: string,
    tally: EventTally,
    what: Pick<Pending, 'kind' | 'ask' | 'questions'>,
    signal: AbortSignal,
    toView: (base: {
      requestId: string;
      requestedAt: string;
      expiresAt: string;
    }) => Pending['view'],
  ): Promise<ApprovalAnswer> {
    const asks = this.asksOf(runId);
    const requestId = randomUUID();
    const now = Date.now();
    const view = toView({
      requestId,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.config.execution.approvalTimeoutMs).toISOString(),
    });
    return new Promise<ApprovalAnswer>((resolve) => {
      const pending: Pending = {
        ...what,
        view,
        settle: (answer, by, told) => {
          if (!asks.pending.delete(requestId)) return;
          asks.answered.set(requestId, what.kind);
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.recorder.event(runId, tally, `${what.kind}_resolved`, { requestId, by, ...told });
          resolve(answer);
        },
      };
      const onAbort = () =>
        settleUnanswered(pending, 'The run stopped waiting for the answer', 'run_ended');
      const timer = setTimeout(
        () => settleUnanswered(pending, 'Nobody answered in time', 'timeout'),
        this.config.execution.approvalTimeoutMs,
      );
      asks.pending.set(requestId, pending);
      this.recorder.event(runId, tally, `${what.kind}_request`, view);
      this.serviceEvents.emit('ask.requested', { runId, kind: what.kind, request: view });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The pending ask of that kind; 404 for an id this run never asked, 409 once answered. */
  private pendingOf(runId: string, requestId: string, kind: AskKind): Pending {
    const asks = this.runs.get(runId);
    const pending = asks?.pending.get(requestId);
    if (pending?.kind === kind) return pending;
    if (asks?.answered.get(requestId) === kind) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ANSWERED[kind],
        `The ${kind} ${requestId} of execution ${runId} has already been answered`,
      );
    }
    throw new ApiError(
      HttpStatus.NOT_FOUND,
      NOT_FOUND[kind],
      `Execution ${runId} has no ${kind} ${requestId}`,
    );
  }

  private asksOf(runId: string): RunAsks {
    let asks = this.runs.get(runId);
    if (!asks) {
      asks = { pending: new Map(), answered: new Map() };
      this.runs.set(runId, asks);
    }
    return asks;
  }
}

/** A deny nobody chose (timeout, the run's end): the tool does not run, the question is declined. */
function settleUnanswered(pending: Pending, message: string, by: ResolvedBy): void {
  const told =
    pending.kind === 'approval' ? { decision: 'deny', message } : { answered: false, message };
  pending.settle(denial(message), by, told);
}

/**
 * "Allow for this session", least privilege: of the CLI's suggestions only the allow rules and
 * the directories, and only for this session. The CLI also suggests writing them to a settings
 * file (which would outlive the session) and switching the permission mode (which would allow
 * far more than this kind of tool use); both are left out.
 */
export function forThisSession(suggestions: PermissionUpdate[]): PermissionUpdate[] {
  return suggestions.flatMap((update): PermissionUpdate[] => {
    if (update.type === 'addRules' && update.behavior === 'allow') {
      return [{ ...update, destination: 'session' }];
    }
    if (update.type === 'addDirectories') return [{ ...update, destination: 'session' }];
    return [];
  });
}

function denial(message: string): ApprovalAnswer {
  return { behavior: 'deny', message };
}
