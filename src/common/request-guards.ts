import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { IpThrottlerGuard, TokenThrottlerGuard } from './throttling/throttling';

/**
 * The one APP_GUARD: the IP bucket first (it counts failed logins too), then the bearer token,
 * then the token's buckets. One guard rather than three, because Nest awaits each guard's answer
 * in turn and all three answer synchronously, on every request.
 */
@Injectable()
export class RequestGuards implements CanActivate {
  constructor(
    private readonly ipThrottler: IpThrottlerGuard,
    private readonly auth: BearerAuthGuard,
    private readonly tokenThrottler: TokenThrottlerGuard,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    return (
      this.ipThrottler.canActivate(context) &&
      this.auth.canActivate(context) &&
      this.tokenThrottler.canActivate(context)
    );
  }
}
