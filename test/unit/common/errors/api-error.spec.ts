import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../../../../src/common/errors/api-error';
import { ErrorCode } from '../../../../src/common/errors/error-codes';

describe('ApiError', () => {
  it('skips the stack of a client error, keeps that of a server error, and restores the limit', () => {
    const limit = Error.stackTraceLimit;
    const notFound = new ApiError(HttpStatus.NOT_FOUND, ErrorCode.ENV_NOT_FOUND, 'nope');
    const unavailable = new ApiError(
      HttpStatus.SERVICE_UNAVAILABLE,
      ErrorCode.DOCKER_UNAVAILABLE,
      'down',
    );
    expect(notFound.stack).not.toContain('\n    at ');
    expect(unavailable.stack).toContain('\n    at ');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(notFound).toMatchObject({ name: 'ApiError', message: 'nope', statusCode: 404 });
  });
});
