import type { FastifyRequest } from 'fastify';

/** The environments a request may see and act in: every one (null), or these. */
export type EnvironmentScope = ReadonlySet<string> | null;

/** What the auth guard attaches to a request it let through. */
export interface RequestPrincipal {
  /**
   * A non-secret id of the token used, the same across restarts (runs are counted against a
   * token's quota by it). A scoped token's is its own `id`, as minted.
   */
  tokenId: string;
  /** A scoped token's environments; null for a master token, one minted for `*`, a run's events token. */
  environments: EnvironmentScope;
}

export type AuthenticatedRequest = FastifyRequest & { principal?: RequestPrincipal };

/** The id requests count for: their token's, or `anonymous` on a public route. */
export function tokenIdOf(request: AuthenticatedRequest): string {
  return request.principal?.tokenId ?? 'anonymous';
}

/** The environments the request's token may see (every one on a public route). */
export function environmentScopeOf(request: AuthenticatedRequest): EnvironmentScope {
  return request.principal?.environments ?? null;
}

export function inScope(scope: EnvironmentScope, env: string): boolean {
  return scope === null || scope.has(env);
}
