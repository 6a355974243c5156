import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { PermissionMode } from '../../common/config/permission-mode';
import { LowerCase } from '../../common/http/lower-case.decorator';
import { ExecutionRequest, WhenSessionBusy } from '../execution-request';
import { IsOutputSchema, MAX_OUTPUT_SCHEMA_BYTES } from './output-schema.validator';

/** A tool name or rule as the CLI takes it, e.g. `Bash`, `Read`, `Bash(git log:*)`. */
const TOOL_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*(\(.{0,200}\))?$/;

/** One prompt for the environment's Claude Code, optionally continuing a session. */
export class ExecuteRequestDto implements ExecutionRequest {
  /** The environment whose container runs the prompt, e.g. `dev`. */
  @IsString()
  @MinLength(1)
  env!: string;

  /** The prompt, 1 character up to MAX_PROMPT_BYTES (1 MiB by default). */
  @IsString()
  @MinLength(1)
  prompt!: string;

  /** Also return the CLI's result object as a JSON string in `json_output`. */
  @IsOptional()
  @IsBoolean()
  jsonOutput?: boolean;

  /** Continue this session (or start a reserved one). Without it, a new session is started. */
  @IsOptional()
  @LowerCase()
  @IsUUID('all')
  sessionId?: string;

  /** A model name or alias, e.g. `sonnet`. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:\[\]-]{1,100}$/, { message: 'model must be a model name or alias' })
  model?: string;

  /** Stop after this many agentic turns. */
  @IsOptional()
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 1000 })
  @IsInt()
  @Min(1)
  @Max(1000)
  maxTurns?: number;

  /** Tools the run may use without asking. */
  @IsOptional()
  @ArrayMaxSize(100)
  @Matches(TOOL_PATTERN, { each: true, message: 'allowedTools must be tool names or rules' })
  allowedTools?: string[];

  /** Tools the run may not use. */
  @IsOptional()
  @ArrayMaxSize(100)
  @Matches(TOOL_PATTERN, { each: true, message: 'disallowedTools must be tool names or rules' })
  disallowedTools?: string[];

  /**
   * The CLI's permission mode for this run. Without it, the run gets its environment's default
   * (the operator's `PERMISSION_MODE`, `default` unless set). A client may name only the modes
   * the operator allows (`PERMISSION_MODES`: `bypassPermissions` and `auto` only when listed);
   * another is 403 `PERMISSION_MODE_NOT_ALLOWED`.
   */
  @IsOptional()
  @ApiProperty({ enum: PermissionMode, enumName: 'PermissionMode', required: false })
  @IsEnum(PermissionMode)
  permissionMode?: PermissionMode;

  /**
   * Ask a person before each tool use that `permissionMode` and `allowedTools` do not already
   * allow: the run emits `approval_request` events, lists `pendingApprovals` and waits for
   * `POST /api/executions/{id}/approvals/{requestId}`. The model's questions (its
   * `AskUserQuestion` tool) come as `question_request` events and `pendingQuestions`, answered
   * with `POST /api/executions/{id}/questions/{requestId}`. Unanswered asks are denied after
   * APPROVAL_TIMEOUT_MS. Not with `bypassPermissions` or `dontAsk`, which never ask.
   */
  @IsOptional()
  @IsBoolean()
  approvals?: boolean;

  /**
   * When the session already runs a prompt: `queue` waits behind it (the run shows
   * `queuedBehind` and `queuePosition`, and can be cancelled while it waits); `steer` interrupts
   * the running turn (it ends `cancelled` with errorCode `STEERED`) and runs this prompt next, with
   * the conversation so far (with no turn running, it queues as `queue` does); `reject` answers
   * 409 SESSION_BUSY. Default: `reject` for
   * `POST /api/execute`, `queue` for `POST /api/executions`.
   */
  @IsOptional()
  @ApiProperty({ enum: WhenSessionBusy, enumName: 'WhenSessionBusy', required: false })
  @IsIn(Object.values(WhenSessionBusy))
  whenSessionBusy?: WhenSessionBusy;

  /** Text appended to Claude Code's system prompt. */
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  appendSystemPrompt?: string;

  /**
   * Stop the run once it has spent this many US dollars, as the CLI estimates its cost: it then
   * fails with code `BUDGET_EXCEEDED`. The CLI checks after each model call, so a run can go a
   * little past it.
   */
  @IsOptional()
  @ApiProperty({ exclusiveMinimum: true, minimum: 0, maximum: 1000 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1000)
  maxBudgetUsd?: number;

  /**
   * A JSON Schema of an object (`type: object`, at most 8 KiB as JSON) that the answer must
   * conform to. The answer then carries the validated object in `structuredOutput`; an answer
   * that does not conform fails with code `STRUCTURED_OUTPUT_INVALID`.
   */
  @IsOptional()
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] },
  })
  @IsOutputSchema({ maxBytes: MAX_OUTPUT_SCHEMA_BYTES })
  outputSchema?: Record<string, unknown>;

  /** A deadline for this run in milliseconds; it can only lower EXECUTION_TIMEOUT_MS. */
  @IsOptional()
  @ApiProperty({ type: 'integer', minimum: 1000 })
  @IsInt()
  @Min(1000)
  timeoutMs?: number;
}
