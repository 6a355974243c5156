import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ExecutionErrorCode } from '../execution-error-codes';

/**
 * The result of one prompt. `success`, `output`, `error` and `json_output` are the shape the
 * LifeOS web app and the desktop app share; the other fields were added beside them.
 */
export class ExecuteResponseDto {
  /** Whether Claude Code finished the prompt without error. */
  success!: boolean;

  /** Claude's answer text. */
  output?: string;

  /** What went wrong, readable, when `success` is false. */
  error?: string;

  /**
   * With `jsonOutput: true`: the CLI's result object as a JSON string, as
   * `claude -p --output-format json` prints it.
   */
  json_output?: string;

  /** With `outputSchema`: the answer's object, validated against it. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  structuredOutput?: Record<string, unknown>;

  /** The session the prompt ran in; pass it back to continue the conversation. */
  @ApiProperty({ format: 'uuid' })
  sessionId!: string;

  /** The CLI's exit code; null when it was killed or never started. */
  @ApiProperty({ type: 'integer', nullable: true })
  exitCode!: number | null;

  /** Wall time of the run in milliseconds. */
  @ApiProperty({ type: 'integer' })
  durationMs!: number;

  /** True when `output` was cut at MAX_OUTPUT_BYTES. */
  truncated!: boolean;

  /** A stable code when `success` is false, e.g. `EXECUTION_TIMEOUT`. */
  @ApiProperty({ enum: ExecutionErrorCode, enumName: 'ExecutionErrorCode', required: false })
  code?: ExecutionErrorCode;
}
