import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { AuthenticatedRequest } from './authenticated-request';
import { EventsTokens, RunEnds } from './events-tokens';
import { RouteTraitsReader } from '../routes/route-traits';
import { checkScope } from './scope-check';
import { ScopedTokens, TokenGrant } from './scoped-tokens';
import { TokenVerifier } from './token-verifier';
import { RequiredScope } from '../routes/required-scope.decorator';

// RFC 6750 b64token.
const BEARER_PATTERN = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Registered as APP_GUARD: every route needs a valid bearer token unless marked `@Public()`: a
 * master token (API_TOKEN, API_TOKENS), which may do everything, or a scoped token, which may do
 * what the route's `@RequiresScope()` asks if its actions and environments allow it.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly verifier: TokenVerifier;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly routes: RouteTraitsReader,
    private readonly eventsTokens: EventsTokens,
    private readonly runEnds: RunEnds,
    private readonly scopedTokens: ScopedTokens,
  ) {
    this.verifier = new TokenVerifier(config.apiTokens);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.routes.of(context);
    if (route.isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header && route.acceptsEventsToken) return this.checkEventsToken(request);
    const token = bearerTokenOf(header);
    const masterId = this.verifier.verify(token);
    if (masterId) {
      request.principal = { tokenId: masterId, environments: null };
      return true;
    }
    const grant = this.scopedTokens.verify(token);
    if (grant instanceof Promise) return grant.then((found) => admit(found, route.scope, request));
    return admit(grant, route.scope, request);
  }

  /**
   * A run-scoped token in the query opens that run's stream, and nothing else, until a grace
   * after the run's end.
   */
  private async checkEventsToken(request: AuthenticatedRequest): Promise<boolean> {
    const { access_token: token } = request.query as { access_token?: unknown };
    const { id } = request.params as { id?: unknown };
    if (typeof token !== 'string' || typeof id !== 'string') {
      throw unauthorized('Missing bearer token', 'Bearer realm="claudecode-api"');
    }
    const runId = id.toLowerCase();
    if (!(await this.eventsTokens.verify(token, runId, (run) => this.runEnds.endedAt(run)))) {
      throw invalidToken('Invalid or expired events token');
    }
    request.principal = { tokenId: `run:${runId}`, environments: null };
    return true;
  }
}

/** Admits a scoped token's request within its scope. */
function admit(
  grant: TokenGrant | null,
  scope: RequiredScope | null,
  request: AuthenticatedRequest,
): boolean {
  // An expired or revoked token is refused exactly as an unknown one.
  if (!grant) throw invalidToken('Invalid bearer token');
  // Set first, so the access line of a refusal names the token.
  request.principal = { tokenId: grant.id, environments: grant.environments };
  checkScope(scope, grant, request);
  return true;
}

/** The token of an `Authorization: Bearer <token>` header; 401 when it is missing or malformed. */
export function bearerTokenOf(header: string | undefined): string {
  if (!header) throw unauthorized('Missing bearer token', 'Bearer realm="claudecode-api"');
  const match = BEARER_PATTERN.exec(header);
  if (!match) {
    throw unauthorized(
      'The Authorization header must be "Bearer <token>"',
      'Bearer realm="claudecode-api", error="invalid_request"',
    );
  }
  return match[1];
}

/** The 401 of a well-formed token that is not the right one. */
export function invalidToken(message: string): ApiError {
  return unauthorized(message, 'Bearer realm="claudecode-api", error="invalid_token"');
}

function unauthorized(message: string, challenge: string): ApiError {
  return new ApiError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHORIZED, message, {
    headers: { 'WWW-Authenticate': challenge },
  });
}
