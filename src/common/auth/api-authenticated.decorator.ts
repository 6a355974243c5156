import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrors } from '../errors/api-errors.decorator';
import { ErrorCode } from '../errors/error-codes';

export const BEARER_SCHEME = 'bearer';

/**
 * Documents what the global guards already enforce on a controller: a bearer token, and the
 * rate limits. Authentication itself is deny-by-default and needs no decorator.
 */
export const ApiAuthenticated = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiErrors(
      { 401: [ErrorCode.UNAUTHORIZED], 429: [ErrorCode.RATE_LIMITED] },
      { 401: 'missing or invalid bearer token', 429: 'see the Retry-After header' },
    ),
  );
