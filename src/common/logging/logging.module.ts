import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from '../config/app-config';
import { AccessLog } from './access-log';
import { createRootLogger, ROOT_LOGGER } from './root-logger';

/**
 * Every log line of the service through one pino logger: nestjs-pino's `Logger` serves as Nest's
 * (so each `new Logger(context)` line is JSON with its `context`), and AccessLog writes one line
 * per request from a Fastify hook (see configureApp). nestjs-pino's per-request middleware is
 * left off (`forRoutes: []`): under Fastify it sees the raw request, without the route pattern or
 * the principal, and it would add a child logger and an async context to every request.
 */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    const logger = createRootLogger(config.log, destination);
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger }, forRoutes: [] })],
      providers: [{ provide: ROOT_LOGGER, useValue: logger }, AccessLog],
      exports: [ROOT_LOGGER, AccessLog],
    };
  }
}
