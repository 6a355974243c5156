import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { RequiredScope, ScopeEnvironment } from '../routes/required-scope.decorator';
import { AuthenticatedRequest, inScope } from './authenticated-request';
import { TokenGrant } from './scoped-tokens';

/**
 * Lets a scoped token through a route only with the route's action, in the route's environment;
 * else 403 SCOPE_DENIED. A route that declares no scope is a master token's alone.
 */
export function checkScope(
  scope: RequiredScope | null,
  grant: TokenGrant,
  request: AuthenticatedRequest,
): void {
  if (scope === null || scope.action === 'master') {
    throw scopeDenied('Only a master token (API_TOKEN or API_TOKENS) may use this route');
  }
  if (!grant.actions.has(scope.action)) {
    throw scopeDenied(
      `This route needs the ${scope.action} action; this token has ${[...grant.actions].join(', ')}`,
    );
  }
  if (grant.environments === null) return;
  const allowed = [...grant.environments].join(', ');
  if (scope.environment === ScopeEnvironment.all) {
    throw scopeDenied(
      `This route spans every environment; this token may act in ${allowed} only (mint one for "*")`,
    );
  }
  const env = environmentOf(scope.environment, request);
  if (env !== undefined && !inScope(grant.environments, env)) {
    throw scopeDenied(
      `This token may act in ${allowed} only, not in environment "${env.slice(0, 64)}"`,
    );
  }
}

/**
 * The environment the request names, where the route reads it; undefined when the route shows
 * only the token's environments (a run by id, the history without a filter), and when a body has
 * no string `env`: its validation answers 400, which a 403 here would hide.
 */
function environmentOf(
  source: Exclude<ScopeEnvironment, 'all'>,
  request: AuthenticatedRequest,
): string | undefined {
  switch (source) {
    case ScopeEnvironment.path:
      // The route has an `:env`; should it ever be missing, nothing is let through.
      return stringField(request.params, 'env') ?? '';
    case ScopeEnvironment.body:
      return stringField(request.body, 'env');
    case ScopeEnvironment.query:
      return stringField(request.query, 'env');
    case ScopeEnvironment.run:
      return undefined;
  }
}

function stringField(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value = (source as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function scopeDenied(message: string): ApiError {
  return new ApiError(HttpStatus.FORBIDDEN, ErrorCode.SCOPE_DENIED, message);
}
