import type { FastifyRequest } from 'fastify';

/** What the auth guard attaches to a request it let through. */
export interface RequestPrincipal {
  /** A non-secret id of the token used, stable for the life of the process. */
  tokenId: string;
}

export type AuthenticatedRequest = FastifyRequest & { principal?: RequestPrincipal };
