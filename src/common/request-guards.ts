import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { IpThrottlerGuard, TokenThrottlerGuard } from './throttling/throttling';

/**
 * The one APP_GUARD: the IP bucket first (it counts failed logins too), then the bearer token,
 * then the token's buckets. One guard rather than three, because Nest awaits each guard's answer
 * in turn and all three answer synchronously on every request; only an events token's check
 * reads the history, and waits for it.
 */
@Injectable()
export class RequestGuards implements CanActivate {
  constructor(
    private readonly ipThrottler: IpThrottlerGuard,
    private readonly auth: BearerAuthGuard,
    private readonly tokenThrottler: TokenThrottlerGuard,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!this.ipThrottler.canActivate(context)) return false;
    const authenticated = this.auth.canActivate(context);
    const thenTokenBuckets = (allowed: boolean) =>
      allowed && this.tokenThrottler.canActivate(context);
    return authenticated instanceof Promise
      ? authenticated.then(thenTokenBuckets)
      : thenTokenBuckets(authenticated);
  }
}
