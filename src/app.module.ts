import { DynamicModule, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { BearerAuthGuard } from './common/auth/bearer-auth.guard';
import { AuthModule } from './common/auth/auth.module';
import { AppConfig } from './common/config/app-config';
import { AppConfigModule } from './common/config/config.module';
import { Coordination, CoordinationModule } from './common/coordination/coordination.module';
import { EventsModule } from './common/events/events.module';
import { LoggingModule } from './common/logging/logging.module';
import { MetricsModule } from './common/metrics/metrics.module';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { createValidationPipe } from './common/http/validation.pipe';
import { RequestGuards } from './common/request-guards';
import {
  IpThrottlerGuard,
  throttlerOptions,
  TokenThrottlerGuard,
} from './common/throttling/throttling';
import { ContainersModule } from './containers/containers.module';
import { DockerModule } from './docker/docker.module';
import { ExecutionsModule } from './executions/executions.module';
import { HealthModule } from './health/health.module';
import { SessionsModule } from './sessions/sessions.module';
import { StoreModule } from './store/store.module';
import { TokensModule } from './tokens/tokens.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  /**
   * Global behaviour lives here, not in main.ts, so tests and the spec script get it too.
   * `logDestination` replaces stdout for the logs (tests).
   */
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggingModule.forRoot(config, logDestination),
        MetricsModule.forRoot(config),
        AuthModule,
        EventsModule,
        CoordinationModule.forRoot(config.coordination),
        ThrottlerModule.forRootAsync({
          inject: [Coordination],
          useFactory: (coordination: Coordination) => throttlerOptions(config, coordination),
        }),
        DockerModule,
        HealthModule,
        ContainersModule,
        StoreModule,
        SessionsModule,
        ExecutionsModule,
        WebhooksModule,
        TokensModule,
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        IpThrottlerGuard,
        BearerAuthGuard,
        TokenThrottlerGuard,
        { provide: APP_GUARD, useClass: RequestGuards },
      ],
    };
  }
}
