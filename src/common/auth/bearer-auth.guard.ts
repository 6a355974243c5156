import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { AuthenticatedRequest } from './authenticated-request';
import { EventsTokens, RunEnds } from './events-tokens';
import { RouteTraitsReader } from './route-traits';
import { TokenVerifier } from './token-verifier';

// RFC 6750 b64token.
const BEARER_PATTERN = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Registered as APP_GUARD: every route needs a valid bearer token unless marked `@Public()`. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly verifier: TokenVerifier;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly routes: RouteTraitsReader,
    private readonly eventsTokens: EventsTokens,
    private readonly runEnds: RunEnds,
  ) {
    this.verifier = new TokenVerifier(config.apiTokens);
  }

  canActivate(context: ExecutionContext): boolean {
    const route = this.routes.of(context);
    if (route.isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header && route.acceptsEventsToken) return this.checkEventsToken(request);
    if (!header) throw unauthorized('Missing bearer token', 'Bearer realm="claudecode-api"');
    const match = BEARER_PATTERN.exec(header);
    if (!match) {
      throw unauthorized(
        'The Authorization header must be "Bearer <token>"',
        'Bearer realm="claudecode-api", error="invalid_request"',
      );
    }
    const tokenId = this.verifier.verify(match[1]);
    if (!tokenId) {
      throw unauthorized(
        'Invalid bearer token',
        'Bearer realm="claudecode-api", error="invalid_token"',
      );
    }
    request.principal = { tokenId };
    return true;
  }

  /**
   * A run-scoped token in the query opens that run's stream, and nothing else, until a grace
   * after the run's end.
   */
  private checkEventsToken(request: AuthenticatedRequest): boolean {
    const { access_token: token } = request.query as { access_token?: unknown };
    const { id } = request.params as { id?: unknown };
    if (typeof token !== 'string' || typeof id !== 'string') {
      throw unauthorized('Missing bearer token', 'Bearer realm="claudecode-api"');
    }
    const runId = id.toLowerCase();
    if (!this.eventsTokens.verify(token, runId, (run) => this.runEnds.endedAt(run))) {
      throw unauthorized(
        'Invalid or expired events token',
        'Bearer realm="claudecode-api", error="invalid_token"',
      );
    }
    request.principal = { tokenId: `run:${runId}` };
    return true;
  }
}

function unauthorized(message: string, challenge: string): ApiError {
  return new ApiError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHORIZED, message, {
    headers: { 'WWW-Authenticate': challenge },
  });
}
