import { ApiProperty } from '@nestjs/swagger';
import { ErrorCode } from './error-codes';

/** The one error shape every route answers with. */
export class ErrorResponseDto {
  /** The HTTP status, repeated in the body. */
  statusCode!: number;

  @ApiProperty({ enum: ErrorCode, enumName: 'ErrorCode' })
  code!: ErrorCode;

  /** A readable explanation, safe to show to a user. */
  message!: string;

  /** The request's id, also sent as the `x-request-id` header; quote it when reporting a problem. */
  requestId!: string;

  /**
   * For `VALIDATION_FAILED`: one line per rejected field. For `ENV_BUDGET_EXHAUSTED` and
   * `RUN_QUOTA_EXHAUSTED`: `resetsAt: <ISO time>`, when the next run fits.
   */
  details?: string[];
}
