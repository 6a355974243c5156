import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { COUNTED_PER_IP_KEY } from './counted-per-ip.decorator';
import { RUNS_CLAUDE_KEY } from './runs-claude.decorator';
import { EVENTS_TOKEN_KEY } from './events-token.decorator';
import { IS_PUBLIC_KEY } from './public.decorator';
import { REQUIRED_SCOPE_KEY, RequiredScope } from './required-scope.decorator';

/** What the global guards need to know of a route, from its decorators. */
export interface RouteTraits {
  /** `@Public()` on the handler or its controller: no token, no rate limit (but see below). */
  isPublic: boolean;
  /** `@AcceptsEventsToken()`: a run-scoped `?access_token=` opens it. */
  acceptsEventsToken: boolean;
  /** `@RunsClaude()`: counts against the `claude` bucket too. */
  runsClaude: boolean;
  /** `@CountedPerIp()`: an open route that still counts in the client IP's bucket. */
  countedPerIp: boolean;
  /** `@RequiresScope()` or `@MasterOnly()`; none (null) is master-only, so a new route fails closed. */
  scope: RequiredScope | null;
}

/**
 * Reads each route's traits once, on its first request, instead of walking the decorator
 * metadata in every guard on every request. Routes are fixed at boot, so nothing goes stale.
 */
@Injectable()
export class RouteTraitsReader {
  private readonly byHandler = new WeakMap<object, RouteTraits>();

  constructor(private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RouteTraits {
    const handler = context.getHandler();
    let traits = this.byHandler.get(handler);
    if (traits === undefined) {
      const targets = [handler, context.getClass()];
      const flag = (key: string): boolean =>
        this.reflector.getAllAndOverride<boolean | undefined>(key, targets) === true;
      traits = {
        isPublic: flag(IS_PUBLIC_KEY),
        acceptsEventsToken: flag(EVENTS_TOKEN_KEY),
        runsClaude: flag(RUNS_CLAUDE_KEY),
        countedPerIp: flag(COUNTED_PER_IP_KEY),
        scope:
          this.reflector.getAllAndOverride<RequiredScope | undefined>(
            REQUIRED_SCOPE_KEY,
            targets,
          ) ?? null,
      };
      this.byHandler.set(handler, traits);
    }
    return traits;
  }
}
