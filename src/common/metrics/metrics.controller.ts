import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../routes/public.decorator';
import { CountedPerIp } from '../routes/counted-per-ip.decorator';
import { Metrics } from './metrics';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * Prometheus' scrape endpoint, for operators: outside the API's token and rate limits (its own
 * token, METRICS_TOKEN; each call counts in the client IP's bucket, so guessing the token is as
 * slow as guessing the API's), and outside the spec and the client, which are the API's.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @CountedPerIp()
  @UseGuards(MetricsTokenGuard)
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  getMetrics(): Promise<string> {
    return this.metrics.scrape();
  }
}
