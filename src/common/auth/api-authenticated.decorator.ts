import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';

export const BEARER_SCHEME = 'bearer';

/**
 * Documents what the global guards already enforce on a controller: a bearer token, and the
 * rate limits. Authentication itself is deny-by-default and needs no decorator.
 */
export const ApiAuthenticated = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiUnauthorizedResponse({
      description: 'Missing or invalid bearer token',
      type: ErrorResponseDto,
    }),
    ApiTooManyRequestsResponse({
      description: 'Rate limited; see the Retry-After header',
      type: ErrorResponseDto,
    }),
  );
