import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'claudecode:isPublic';

/**
 * Opens a route: no bearer token and no rate limit (unless also `@CountedPerIp()`). Only health
 * probes use it, since an orchestrator must never be refused while it checks liveness.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
