import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

/** A tool use the run waits on: the CLI asked, and a person answers it (see `answerApproval`). */
export class PendingApprovalDto {
  /** Answer with `POST /api/executions/{id}/approvals/{requestId}`. */
  @ApiProperty({ format: 'uuid' })
  requestId!: string;

  /** The tool the CLI wants to use, e.g. `Bash`. */
  tool!: string;

  /** The tool's input, e.g. `{ "command": "rm -rf build/" }`. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  input!: Record<string, unknown>;

  /**
   * Permission updates the CLI suggests so that it stops asking for this kind of tool use. An
   * answer with `scope: session` remembers their allow rules and directories for the session.
   */
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  suggestions!: unknown[];

  /** The model's id for this tool call. */
  toolUseId!: string;

  /** The CLI's own sentence for the ask, when it gives one. */
  title?: string;

  requestedAt!: string;

  /** When the approval is denied if nobody answers it (APPROVAL_TIMEOUT_MS). */
  expiresAt!: string;
}

export const ApprovalDecision = { allow: 'allow', deny: 'deny' } as const;
export type ApprovalDecision = (typeof ApprovalDecision)[keyof typeof ApprovalDecision];

/** How far an allow reaches: this one tool use, or the same kind for the rest of the session. */
export const ApprovalScope = { once: 'once', session: 'session' } as const;
export type ApprovalScope = (typeof ApprovalScope)[keyof typeof ApprovalScope];

/** A person's answer to a pending approval. */
export class AnswerApprovalDto {
  /** `allow` runs the tool; `deny` does not, and the model is told why. */
  @ApiProperty({ enum: ApprovalDecision, enumName: 'ApprovalDecision' })
  @IsIn(Object.values(ApprovalDecision))
  decision!: ApprovalDecision;

  /** With `allow`: the input the tool runs with instead of the one asked for. */
  @IsOptional()
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsObject()
  updatedInput?: Record<string, unknown>;

  /**
   * With `allow`: `session` also allows the same kind of tool use for as long as this CLI process
   * runs the session ("allow for this session"; at least the rest of this run), from the ask's
   * `suggestions`: their allow rules and directories, held in the CLI's memory only (no settings
   * file is written, the permission mode is never changed). Default `once`.
   */
  @IsOptional()
  @ApiPropertyOptional({ enum: ApprovalScope, enumName: 'ApprovalScope' })
  @IsIn(Object.values(ApprovalScope))
  scope?: ApprovalScope;

  /** With `deny`: what the model is told. */
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  message?: string;
}
