import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';

/**
 * Opaque page cursors: base64url JSON that only this service reads. A cursor that does not
 * decode to what `isValid` expects is a 400.
 */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value)) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      ErrorCode.VALIDATION_FAILED,
      'The cursor is invalid',
      {
        details: ['cursor must be a nextCursor this API returned'],
      },
    );
  }
  return value;
}
