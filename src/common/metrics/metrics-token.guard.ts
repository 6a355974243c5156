import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerTokenOf, invalidToken } from '../auth/bearer-auth.guard';
import { TokenVerifier } from '../auth/token-verifier';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * GET /metrics takes METRICS_TOKEN and nothing else: a scraper's token opens no API route, and an
 * API token opens no metrics. Compared in constant time, as the API tokens are. The route exists
 * only when METRICS_TOKEN is set (see MetricsModule), so an unset token cannot open it.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly verifier: TokenVerifier;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.verifier = new TokenVerifier(config.metricsToken === null ? [] : [config.metricsToken]);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerTokenOf(request.headers.authorization);
    if (this.verifier.verify(token) === null) throw invalidToken('Invalid metrics token');
    return true;
  }
}
