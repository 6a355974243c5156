import pino, { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';
import { LogConfig } from '../config/app-config';

/** Injection token of the application's `RootLogger` (the access lines write to it directly). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** The service's logger and where it writes. */
export interface RootLogger {
  logger: Logger;
  /** stdout through SonicBoom (it has `flushSync`), or the destination a test gave. */
  destination: DestinationStream & { flushSync?: () => void };
}

/**
 * The service's one pino logger. `json`: a JSON object a line, written asynchronously and in
 * batches (the request never waits on stdout). `pretty`: pino-pretty's coloured lines, for a terminal.
 * `destination` replaces stdout (tests).
 */
export function createRootLogger(config: LogConfig, destination?: DestinationStream): RootLogger {
  const target = destination ?? defaultDestination(config);
  // pino's own time (ms since the epoch): an ISO string would cost each access line a Date.
  const logger = pino(
    { level: config.level, formatters: { level: (label) => ({ level: label }) } },
    target,
  );
  return { logger, destination: target };
}

function defaultDestination(config: LogConfig): RootLogger['destination'] {
  if (config.format === 'pretty') {
    return pretty({ colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: true });
  }
  // Lines go out in writes of 4 KiB or every 250 ms, whichever comes first: one write per
  // request cost the service more than the rest of the line (flushed at shutdown and exit).
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
}
