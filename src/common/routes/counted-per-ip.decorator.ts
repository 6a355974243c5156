import { SetMetadata } from '@nestjs/common';

export const COUNTED_PER_IP_KEY = 'claudecode:countedPerIp';

/**
 * An open (`@Public()`) route that still counts in the client IP's bucket, because answering it
 * costs something (readiness pings Docker). Liveness is never counted.
 */
export const CountedPerIp = (): MethodDecorator => SetMetadata(COUNTED_PER_IP_KEY, true);
