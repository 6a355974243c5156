import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ApiErrors } from '../errors/api-errors.decorator';
import { ErrorCode } from '../errors/error-codes';

export const REQUIRED_SCOPE_KEY = 'claudecode:requiredScope';
/** The spec's extension that names each operation's scope (see `RequiredScope`). */
export const REQUIRED_SCOPE_EXTENSION = 'x-required-scope';

/** What a scoped token may be allowed to do (a master token may do everything). */
export const TokenAction = { read: 'read', run: 'run', admin: 'admin' } as const;
export type TokenAction = (typeof TokenAction)[keyof typeof TokenAction];
export const TOKEN_ACTIONS: readonly TokenAction[] = Object.values(TokenAction);

/** Where a route's environment comes from, for a scoped token's check. */
export const ScopeEnvironment = {
  /** The `:env` path parameter. */
  path: 'path',
  /** The JSON body's `env` (a body without a valid one is left to the validation's 400). */
  body: 'body',
  /** The optional `env` query filter; without it, the route shows the token's environments only. */
  query: 'query',
  /** The run named by `:id`: a run of another environment is not found (404). */
  run: 'run',
  /** No one environment: the token must hold all of them (`["*"]`). */
  all: 'all',
} as const;
export type ScopeEnvironment = (typeof ScopeEnvironment)[keyof typeof ScopeEnvironment];

/** A route's declared scope: an action in an environment, or `master` (API_TOKEN/API_TOKENS only). */
export type RequiredScope =
  | { readonly action: TokenAction; readonly environment: ScopeEnvironment }
  | { readonly action: 'master' };

function declareScope(scope: RequiredScope, refusal: string): MethodDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPE_KEY, scope),
    ApiExtension(REQUIRED_SCOPE_EXTENSION, scope),
    ApiErrors({ 403: [ErrorCode.SCOPE_DENIED] }, { 403: refusal }),
  );
}

/**
 * The action a scoped token needs for this route, and where the route's environment is read.
 * Every route declares one (or `@MasterOnly()`): the guard treats a route without any as
 * master-only, and a test fails on it.
 */
export const RequiresScope = (
  action: TokenAction,
  environment: ScopeEnvironment,
): MethodDecorator =>
  declareScope(
    { action, environment },
    `a scoped token without the ${action} action, or for another environment`,
  );

/** Only a master token (API_TOKEN or API_TOKENS) may use this route; a scoped token gets 403. */
export const MasterOnly = (): MethodDecorator =>
  declareScope({ action: 'master' }, 'a scoped token (only a master token may)');

const WHERE: Record<ScopeEnvironment, string> = {
  path: "in the path's environment",
  body: "in the body's `env`",
  query:
    "in the runs' environments (a scoped token sees only its environments' runs; an `env` filter outside them is 403)",
  run: "in the run's environment (to a scoped token, a run of another environment is 404)",
  all: 'in every environment (a token minted for `["*"]`)',
};

/** The sentence the spec adds to each operation's description. */
export function describeRequiredScope(scope: RequiredScope): string {
  if (scope.action === 'master') {
    return 'Scope: a master token (API_TOKEN or API_TOKENS) only; a scoped token gets 403 SCOPE_DENIED.';
  }
  return `Scope: the \`${scope.action}\` action ${WHERE[scope.environment]}, or a master token.`;
}
