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
import { WindowCounterStorage } from './window-counter.storage';

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
    storage: new WindowCounterStorage(),
  };
}

/**
 * Counts one phase's buckets; answers 429 RATE_LIMITED with `Retry-After` in seconds. Replaces
 * the library's loop, which resolves five route decorators per bucket (none of which this service
 * uses) and visits every bucket in both phases, on every request.
 */
abstract class PhaseThrottlerGuard extends ThrottlerGuard {
  protected abstract readonly buckets: readonly ThrottlerName[];
  private phase: Omit<ThrottlerRequest, 'context'>[] = [];

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    const { getTracker, generateKey } = this.commonOptions;
    if (!getTracker || !generateKey) throw new Error('the throttler options are not resolved');
    this.phase = this.throttlers
      .filter((throttler) => this.buckets.includes(throttler.name as ThrottlerName))
      .map((throttler) => {
        const { limit, ttl } = throttler;
        if (typeof limit !== 'number' || typeof ttl !== 'number') {
          throw new Error(`the ${throttler.name} throttler needs a fixed limit and ttl`);
        }
        return {
          limit,
          ttl,
          blockDuration: ttl,
          throttler,
          getTracker: throttler.getTracker ?? getTracker,
          generateKey,
        };
      });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (isPublic(this.reflector, context)) return true;
    for (const bucket of this.phase) {
      if (bucket.throttler.name === ThrottlerName.claude && !this.runsClaude(context)) continue;
      await this.handleRequest({ ...bucket, context });
    }
    return true;
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
