import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { AuthenticatedRequest, tokenIdOf } from './authenticated-request';

/** The id of the bearer token the request came with (see `RequestPrincipal`). */
export const TokenId = createParamDecorator((_data: unknown, context: ExecutionContext): string =>
  tokenIdOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);
