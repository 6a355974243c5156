import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { IpThrottlerGuard, TokenThrottlerGuard, Verdict } from './throttling/throttling';

/**
 * The one APP_GUARD: the IP bucket first (it counts failed logins too), then the bearer token,
 * then the token's buckets. One guard rather than three, because Nest awaits each guard's answer
 * in turn and all three answer synchronously, on every request, in one process; only what waits
 * on Redis or the store (REDIS_URL) is awaited.
 */
@Injectable()
export class RequestGuards implements CanActivate {
  constructor(
    private readonly ipThrottler: IpThrottlerGuard,
    private readonly auth: BearerAuthGuard,
    private readonly tokenThrottler: TokenThrottlerGuard,
  ) {}

  canActivate(context: ExecutionContext): Verdict {
    return andThen(this.ipThrottler.canActivate(context), () =>
      andThen(this.auth.canActivate(context), () => this.tokenThrottler.canActivate(context)),
    );
  }
}

/** `verdict && next()`, awaiting `verdict` only when it is a promise. */
function andThen(verdict: Verdict, next: () => Verdict): Verdict {
  if (verdict instanceof Promise) return verdict.then((passed) => passed && next());
  return verdict && next();
}
