import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import {
  DEFAULT_IPV6_SUBNET_PREFIX,
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { AuthenticatedRequest, tokenIdOf } from '../auth/authenticated-request';
import { RouteTraitsReader } from '../routes/route-traits';
import { AppConfig } from '../config/app-config';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { Coordination } from '../coordination/coordination.module';
import { RedisWindowCounterStorage } from './redis-window-counter.storage';
import { ThrottlerStorageRecord, WindowCounterStorage } from './window-counter.storage';

/** The three buckets. `ip` runs before authentication, the others after it. */
export const ThrottlerName = { ip: 'ip', token: 'token', claude: 'claude' } as const;
type ThrottlerName = (typeof ThrottlerName)[keyof typeof ThrottlerName];

/** Who a request counts for, per bucket. */
const TRACKERS: Record<ThrottlerName, (request: AuthenticatedRequest) => string> = {
  ip: (request) => normalizeIp(request.ip, DEFAULT_IPV6_SUBNET_PREFIX),
  token: tokenIdOf,
  claude: tokenIdOf,
};

/** The buckets, counted in Redis when REDIS_URL is set (across replicas), else in this process. */
export function throttlerOptions(
  config: AppConfig,
  coordination: Coordination,
): ThrottlerModuleOptions {
  const { ip, token, claude } = config.throttle;
  const { redis } = coordination;
  return {
    throttlers: [
      { name: ThrottlerName.ip, limit: ip.limit, ttl: ip.ttlMs },
      { name: ThrottlerName.token, limit: token.limit, ttl: token.ttlMs },
      { name: ThrottlerName.claude, limit: claude.limit, ttl: claude.ttlMs },
    ],
    storage:
      redis && config.coordination.redis
        ? new RedisWindowCounterStorage(redis.commands, config.coordination.redis.keyPrefix)
        : new WindowCounterStorage(),
  };
}

interface Bucket {
  name: ThrottlerName;
  limit: number;
  ttl: number;
  /** Its response header names, made once rather than on every request. */
  headers: { limit: string; remaining: string; reset: string; retryAfter: string };
}

/** A guard's answer: at once when counted in process, later when counted in Redis. */
export type Verdict = boolean | Promise<boolean>;

/**
 * Counts one phase's buckets and answers 429 RATE_LIMITED with `Retry-After` in seconds, with the
 * library's response headers. In place of the library's ThrottlerGuard, whose loop resolves five
 * route decorators and awaits several promises per bucket on every request: this one counts
 * synchronously in `WindowCounterStorage`, so a request's guards run without a single await, and
 * awaits only the round trips of `RedisWindowCounterStorage`.
 */
@Injectable()
abstract class PhaseThrottlerGuard implements CanActivate {
  protected abstract readonly names: readonly ThrottlerName[];
  /** Open routes marked `@CountedPerIp()` count here: only the IP bucket, as they have no token. */
  protected readonly countsOpenRoutes: boolean = false;
  /** Counted on every route, and on the routes that run Claude (those plus `claude`). */
  private buckets: { everyRoute: Bucket[]; claudeRoute: Bucket[] } = {
    everyRoute: [],
    claudeRoute: [],
  };
  private readonly storage: WindowCounterStorage | RedisWindowCounterStorage;

  constructor(
    @InjectThrottlerOptions() private readonly options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    private readonly routes: RouteTraitsReader,
  ) {
    if (!(
      storage instanceof WindowCounterStorage || storage instanceof RedisWindowCounterStorage
    )) {
      throw new Error('The throttling guards count in a WindowCounterStorage or in Redis');
    }
    this.storage = storage;
  }

  onModuleInit(): void {
    if (Array.isArray(this.options)) throw new Error('The throttler options are not ours');
    const buckets = this.options.throttlers.flatMap(({ name, limit, ttl }) => {
      if (!this.names.includes(name as ThrottlerName)) return [];
      if (typeof limit !== 'number' || typeof ttl !== 'number') {
        throw new Error(`The ${name} throttler needs a fixed limit and ttl`);
      }
      const headers = {
        limit: `x-ratelimit-limit-${name}`,
        remaining: `x-ratelimit-remaining-${name}`,
        reset: `x-ratelimit-reset-${name}`,
        retryAfter: `retry-after-${name}`,
      };
      return [{ name: name as ThrottlerName, limit, ttl, headers }];
    });
    this.buckets = {
      everyRoute: buckets.filter(({ name }) => name !== ThrottlerName.claude),
      claudeRoute: buckets,
    };
  }

  canActivate(context: ExecutionContext): Verdict {
    const route = this.routes.of(context);
    if (route.isPublic && !(this.countsOpenRoutes && route.countedPerIp)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const reply = http.getResponse<FastifyReply>();
    const buckets = route.runsClaude ? this.buckets.claudeRoute : this.buckets.everyRoute;
    return this.count(buckets, 0, request, reply);
  }

  /** Counts `buckets` from `index` on, in order; throws 429 at the first that is over. */
  private count(
    buckets: readonly Bucket[],
    index: number,
    request: AuthenticatedRequest,
    reply: FastifyReply,
  ): Verdict {
    for (let at = index; at < buckets.length; at++) {
      const { name, limit, ttl } = buckets[at];
      // One bucket per tracker across all routes (the library's default key is per route), so a
      // client cannot spread its attempts over routes.
      const record = this.storage.hit(`${name}:${TRACKERS[name](request)}`, ttl, limit, ttl);
      if (record instanceof Promise) {
        return record.then((counted) => {
          answer(buckets[at], counted, reply);
          return this.count(buckets, at + 1, request, reply);
        });
      }
      answer(buckets[at], record, reply);
    }
    return true;
  }
}

/** The bucket's headers on the reply, or 429 when the hit is over its limit. */
function answer(
  { limit, headers }: Bucket,
  record: ThrottlerStorageRecord,
  reply: FastifyReply,
): void {
  if (record.isBlocked) {
    void reply.header(headers.retryAfter, record.timeToBlockExpire);
    throw rateLimited(record.timeToBlockExpire);
  }
  void reply
    .header(headers.limit, limit)
    .header(headers.remaining, Math.max(0, limit - record.totalHits))
    .header(headers.reset, record.timeToExpire);
}

function rateLimited(timeToBlockExpire: number): ApiError {
  const retryAfterSeconds = Math.max(1, Math.ceil(timeToBlockExpire));
  return new ApiError(
    HttpStatus.TOO_MANY_REQUESTS,
    ErrorCode.RATE_LIMITED,
    `Too many requests; retry in ${retryAfterSeconds} s`,
    { headers: { 'Retry-After': String(retryAfterSeconds) } },
  );
}

/**
 * Registered before the auth guard: counts every request per client IP, failed logins too, and
 * the open routes marked `@CountedPerIp()`.
 */
@Injectable()
export class IpThrottlerGuard extends PhaseThrottlerGuard {
  protected readonly names = [ThrottlerName.ip];
  protected override readonly countsOpenRoutes = true;
}

/** Registered after the auth guard: counts per token, and per token on Claude routes. */
@Injectable()
export class TokenThrottlerGuard extends PhaseThrottlerGuard {
  protected readonly names = [ThrottlerName.token, ThrottlerName.claude];
}
