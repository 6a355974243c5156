import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ApiError } from './api-error';
import { ErrorCode } from './error-codes';
import { ErrorResponseDto } from './error-response.dto';

export interface ErrorReply {
  body: ErrorResponseDto;
  headers: Record<string, string>;
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: ErrorCode.VALIDATION_FAILED,
  [HttpStatus.UNAUTHORIZED]: ErrorCode.UNAUTHORIZED,
  [HttpStatus.FORBIDDEN]: ErrorCode.FORBIDDEN,
  [HttpStatus.NOT_FOUND]: ErrorCode.NOT_FOUND,
  [HttpStatus.METHOD_NOT_ALLOWED]: ErrorCode.METHOD_NOT_ALLOWED,
  [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCode.PAYLOAD_TOO_LARGE,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  [HttpStatus.TOO_MANY_REQUESTS]: ErrorCode.RATE_LIMITED,
};

const logger = new Logger('Errors');

/**
 * Maps anything thrown while serving a request to the one error shape. Only `ApiError`s, Nest's
 * HTTP exceptions and Fastify's own 4xx errors keep their message; everything else becomes a
 * generic 500 and is logged, so no stack trace or Docker message reaches a client.
 */
export function toErrorResponse(error: unknown, requestId: string): ErrorReply {
  if (error instanceof ApiError) {
    return reply(error.statusCode, error.code, error.message, requestId, error.options);
  }
  if (error instanceof HttpException) {
    return reply(error.getStatus(), codeFor(error.getStatus()), messageOf(error), requestId);
  }
  const status = clientErrorStatus(error);
  if (status !== undefined) {
    const code = codeFor(status);
    // Fastify's own words, "Unsupported Media Type", do not say what to send instead.
    const message =
      code === ErrorCode.UNSUPPORTED_MEDIA_TYPE
        ? 'The body must be JSON, sent as Content-Type: application/json'
        : (error as Error).message;
    return reply(status, code, message, requestId);
  }
  logger.error(
    `request ${requestId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return reply(
    HttpStatus.INTERNAL_SERVER_ERROR,
    ErrorCode.INTERNAL_ERROR,
    'Internal server error',
    requestId,
  );
}

function reply(
  statusCode: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  options: { headers?: Record<string, string>; details?: string[] } = {},
): ErrorReply {
  const body: ErrorResponseDto = { statusCode, code, message, requestId };
  if (options.details) body.details = options.details;
  return { body, headers: options.headers ?? {} };
}

function codeFor(status: number): ErrorCode {
  return (
    CODE_BY_STATUS[status] ??
    (status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.VALIDATION_FAILED)
  );
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'object' && response !== null && 'message' in response) {
    const { message } = response;
    if (Array.isArray(message)) return message.join('; ');
    if (typeof message === 'string') return message;
  }
  return error.message;
}

/** Fastify's own errors (body too large, bad JSON, bad content type) carry a 4xx statusCode. */
function clientErrorStatus(error: unknown): number | undefined {
  if (!(error instanceof Error) || !('statusCode' in error)) return undefined;
  const { statusCode } = error as { statusCode: unknown };
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
    ? statusCode
    : undefined;
}
