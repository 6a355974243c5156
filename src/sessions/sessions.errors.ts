import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';

export function sessionNotFound(env: string, id: string): ApiError {
  return new ApiError(
    HttpStatus.NOT_FOUND,
    ErrorCode.SESSION_NOT_FOUND,
    `No session ${id} in environment ${env}`,
  );
}

/** One wording for every route: a run (or a delete) holds the session. */
export function sessionBusy(sessionId: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.SESSION_BUSY,
    `Session ${sessionId} is already running a prompt; wait for it to finish`,
  );
}

export function sessionEmpty(id: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.SESSION_EMPTY,
    `Session ${id} has no messages to fork`,
  );
}

export function messageNotFound(id: string, messageId: string): ApiError {
  return new ApiError(
    HttpStatus.NOT_FOUND,
    ErrorCode.MESSAGE_NOT_FOUND,
    `Session ${id} has no message ${messageId} to fork at`,
  );
}

export function transcriptTooLarge(id: string, size: number, limit: number): ApiError {
  return new ApiError(
    HttpStatus.PAYLOAD_TOO_LARGE,
    ErrorCode.TRANSCRIPT_TOO_LARGE,
    `The transcript of session ${id} is ${size} bytes; a fork copies at most ${limit}`,
  );
}
