import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { HttpMetrics } from './http-metrics';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';

/**
 * The service's metrics, for every module: inject `Metrics` to register one (see its comment).
 * GET /metrics is served only when METRICS_TOKEN is set; without it the route does not exist.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: MetricsModule,
      controllers: config.metricsToken === null ? [] : [MetricsController],
      providers: [Metrics, HttpMetrics],
      exports: [Metrics, HttpMetrics],
    };
  }
}
