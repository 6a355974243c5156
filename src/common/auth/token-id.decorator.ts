import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import {
  AuthenticatedRequest,
  EnvironmentScope,
  environmentScopeOf,
  tokenIdOf,
} from './authenticated-request';

/** The id of the bearer token the request came with (see `RequestPrincipal`). */
export const TokenId = createParamDecorator((_data: unknown, context: ExecutionContext): string =>
  tokenIdOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);

/**
 * The environments the request's token may see, for routes whose environment is only known from
 * what they read (a run by its id, the run history).
 */
export const TokenEnvironments = createParamDecorator(
  (_data: unknown, context: ExecutionContext): EnvironmentScope =>
    environmentScopeOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);
