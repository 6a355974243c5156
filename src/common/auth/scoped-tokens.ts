import { TokenAction } from '../routes/required-scope.decorator';
import { EnvironmentScope } from './authenticated-request';

/** A live scoped token, as the guard checks it. */
export interface TokenGrant {
  /** Its id as minted: the requests and runs it makes count for it by this id. */
  readonly id: string;
  /** Its environments; null when it was minted for all of them (`["*"]`). */
  readonly environments: EnvironmentScope;
  readonly actions: ReadonlySet<TokenAction>;
}

/**
 * The scoped tokens minted with a master token. The tokens feature provides it, so the auth guard
 * checks them without depending on that feature.
 */
export abstract class ScopedTokens {
  /**
   * The grant of a token that exists, has not expired and is not revoked; else null. At once from
   * memory; a promise when the store must be asked (replicas, a token minted on another one).
   */
  abstract verify(token: string): TokenGrant | null | Promise<TokenGrant | null>;
}
