import { ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import {
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
} from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { AuthenticatedRequest } from '../auth/authenticated-request';
import { isPublic } from '../auth/bearer-auth.guard';
import { RUNS_CLAUDE_KEY } from './runs-claude.decorator';

/** The three buckets. `ip` runs before authentication, the others after it. */
export const ThrottlerName = { ip: 'ip', token: 'token', claude: 'claude' } as const;
type ThrottlerName = (typeof ThrottlerName)[keyof typeof ThrottlerName];

export function throttlerOptions(config: AppConfig): ThrottlerModuleOptions {
  const byToken = (req: Record<string, unknown>): string =>
    (req as Partial<AuthenticatedRequest>).principal?.tokenId ?? 'anonymous';
  return {
    throttlers: [
      { name: ThrottlerName.ip, limit: config.throttle.ip.limit, ttl: config.throttle.ip.ttlMs },
      {
        name: ThrottlerName.token,
        limit: config.throttle.token.limit,
        ttl: config.throttle.token.ttlMs,
        getTracker: byToken,
      },
      {
        name: ThrottlerName.claude,
        limit: config.throttle.claude.limit,
        ttl: config.throttle.claude.ttlMs,
        getTracker: byToken,
      },
    ],
    // One bucket per tracker across all routes (the default key is per route), so a client
    // cannot spread its attempts over routes.
    generateKey: (_context, tracker, name) => `${name}:${tracker}`,
  };
}

/** Counts one phase's buckets; answers 429 RATE_LIMITED with `Retry-After` in seconds. */
abstract class PhaseThrottlerGuard extends ThrottlerGuard {
  protected abstract readonly buckets: readonly ThrottlerName[];

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(isPublic(this.reflector, context));
  }

  protected override handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const name = request.throttler.name as ThrottlerName;
    if (!this.buckets.includes(name)) return Promise.resolve(true);
    if (name === ThrottlerName.claude && !this.runsClaude(request.context)) {
      return Promise.resolve(true);
    }
    return super.handleRequest(request);
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfterSeconds = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new ApiError(
      HttpStatus.TOO_MANY_REQUESTS,
      ErrorCode.RATE_LIMITED,
      `Too many requests; retry in ${retryAfterSeconds} s`,
      { headers: { 'Retry-After': String(retryAfterSeconds) } },
    );
  }

  private runsClaude(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(RUNS_CLAUDE_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }
}

/** Registered before the auth guard: counts every request per client IP, failed logins too. */
@Injectable()
export class IpThrottlerGuard extends PhaseThrottlerGuard {
  protected readonly buckets = [ThrottlerName.ip];
}

/** Registered after the auth guard: counts per token, and per token on Claude routes. */
@Injectable()
export class TokenThrottlerGuard extends PhaseThrottlerGuard {
  protected readonly buckets = [ThrottlerName.token, ThrottlerName.claude];
}
