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
    // A client error is expected and its stack is never logged, so it skips the stack capture,
    // the dearest part of a 401, 404 or 429 under load. A 5xx keeps its stack.
    const stackTraceLimit = Error.stackTraceLimit;
    if (statusCode < HttpStatus.INTERNAL_SERVER_ERROR) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'ApiError';
  }
}
