import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
} from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from '../config/app-config';
import { AccessLog } from './access-log';
import { createRootLogger, ROOT_LOGGER, RootLogger } from './root-logger';

/**
 * Writes out what the async destination still holds once the app has closed: Nest ends a SIGTERM
 * by raising the signal again, and a process ended by a signal never sees the 'exit' event on
 * which pino would flush it. Synchronous, as pino's own exit handler is (its async `flush` does
 * not wait for a write in flight).
 */
@Injectable()
class FlushOnShutdown implements OnApplicationShutdown {
  constructor(@Inject(ROOT_LOGGER) private readonly root: RootLogger) {}

  onApplicationShutdown(): void {
    try {
      this.root.destination.flushSync?.();
    } catch {
      // Not open yet, or already closed: there is nothing more it can write.
    }
  }
}

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
    const root = createRootLogger(config.log, destination);
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger: root.logger }, forRoutes: [] })],
      providers: [{ provide: ROOT_LOGGER, useValue: root }, AccessLog, FlushOnShutdown],
      exports: [ROOT_LOGGER, AccessLog],
    };
  }
}
