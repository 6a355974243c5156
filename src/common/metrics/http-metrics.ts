import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DURATION_BUCKETS, METRIC_PREFIX, Metrics } from './metrics';

/** The route of a request no route matched: its URL is the client's to choose, so not a label. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route a request is counted under: its pattern (`/api/executions/:id`), never its URL, so
 * the series stay as many as the routes whatever clients send.
 */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

/** HTTP requests by method, route and status, with their latency (its `_count` counts them). */
@Injectable()
export class HttpMetrics {
  private readonly duration;

  constructor(metrics: Metrics) {
    this.duration = metrics.histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP requests by method, route pattern and status, and how long each took to answer',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: DURATION_BUCKETS,
    });
  }

  observe(method: string, route: string, status: number, elapsedMs: number): void {
    this.duration.observe({ method, route, status }, elapsedMs / 1000);
  }
}
