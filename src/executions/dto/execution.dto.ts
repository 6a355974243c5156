import { ApiProperty } from '@nestjs/swagger';
import { ExecutionStatus } from '../execution-status';
import { PendingApprovalDto } from './approval.dto';
import { PendingQuestionDto } from './question.dto';

/** One run, queued, running or finished. */
export class ExecutionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  env!: string;

  /** The session the run belongs to. */
  @ApiProperty({ format: 'uuid' })
  sessionId!: string;

  @ApiProperty({ enum: ExecutionStatus, enumName: 'ExecutionStatus' })
  status!: ExecutionStatus;

  /** The prompt as submitted. */
  prompt!: string;

  createdAt!: string;

  startedAt!: string | null;

  finishedAt!: string | null;

  /** The CLI's exit code; null while running, or when it was killed. */
  @ApiProperty({ type: 'integer', nullable: true })
  exitCode!: number | null;

  /** Claude's answer text (cut at MAX_OUTPUT_BYTES). */
  result!: string | null;

  /** True when `result` was cut. */
  truncated!: boolean;

  /** Cost in USD, as the CLI reported it: the session's running total. */
  costUsd!: number | null;

  /**
   * What this run spent of its own, in USD (`costUsd` less the session's total before it); the
   * environment's daily budget (ENV_BUDGET_USD_PER_DAY) adds these up.
   */
  spentUsd!: number | null;

  /** Token usage, as the CLI reported it. */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  usage!: Record<string, unknown> | null;

  /** With `outputSchema`: the answer's object, validated against it. */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  structuredOutput!: Record<string, unknown> | null;

  /** Why the run did not succeed, readable. */
  error!: string | null;

  /** A stable code for the failure, e.g. `EXECUTION_TIMEOUT`, `CANCELLED`, `INTERRUPTED`. */
  errorCode!: string | null;

  /** Events the run has produced so far. */
  @ApiProperty({ type: 'integer' })
  eventCount!: number;

  /** Events past the per-run storage bound: streamed live, not kept for replay. */
  @ApiProperty({ type: 'integer' })
  eventsDropped!: number;

  /** True while the run waits for a person: show it as "needs attention". */
  needsAttention!: boolean;

  /** The approvals the run waits on (a run asked with `approvals: true`), oldest first. */
  pendingApprovals!: PendingApprovalDto[];

  /** The model's questions the run waits on (a run asked with `approvals: true`), oldest first. */
  pendingQuestions!: PendingQuestionDto[];

  /** While queued: its place in its environment's queue, from 1. */
  @ApiProperty({ type: 'integer', nullable: true })
  queuePosition!: number | null;

  /**
   * While queued behind a run of its own session: that run's id (the running one, or the one
   * waiting ahead of it). Null when it only waits for a free slot of the environment.
   */
  @ApiProperty({ format: 'uuid', nullable: true })
  queuedBehind!: string | null;
}

/** A run just submitted, with what a browser needs to follow it. */
export class SubmittedExecutionDto extends ExecutionDto {
  /**
   * A short-lived token for this run's event stream only, for EventSource (which cannot send
   * headers): `GET /api/executions/{id}/events?access_token=…`. It also stops opening the
   * stream EVENTS_TOKEN_GRACE_MS after the run ends, if that comes first.
   */
  eventsToken!: string;

  /** When the token expires at the latest (EVENTS_TOKEN_TTL_MS after it was issued). */
  eventsTokenExpiresAt!: string;
}

export class ExecutionListDto {
  items!: ExecutionDto[];

  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor!: string | null;
}
