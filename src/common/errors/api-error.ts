import { HttpStatus } from '@nestjs/common';
import { ErrorCode } from './error-codes';

/**
 * An error meant for the client: its status, code and message are sent as they are. Anything
 * else that escapes a handler is logged and answered with a generic 500.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: HttpStatus,
    readonly code: ErrorCode,
    message: string,
    readonly options: { headers?: Record<string, string>; details?: string[] } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
