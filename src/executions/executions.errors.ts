import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';

export function executionNotFound(id: string): ApiError {
  return new ApiError(HttpStatus.NOT_FOUND, ErrorCode.EXECUTION_NOT_FOUND, `No execution ${id}`);
}

export function sessionBusy(sessionId: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.SESSION_BUSY,
    `Session ${sessionId} is already running a prompt; wait for it to finish`,
  );
}
