import type { FastifyRequest } from 'fastify';

/** What the auth guard attaches to a request it let through. */
export interface RequestPrincipal {
  /**
   * A non-secret id of the token used, the same across restarts (runs are counted against a
   * token's quota by it).
   */
  tokenId: string;
}

export type AuthenticatedRequest = FastifyRequest & { principal?: RequestPrincipal };

/** The id requests count for: their token's, or `anonymous` on a public route. */
export function tokenIdOf(request: AuthenticatedRequest): string {
  return request.principal?.tokenId ?? 'anonymous';
}
