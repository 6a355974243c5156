import pino, { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';
import { LogConfig } from '../config/app-config';

/** Injection token of the application's pino logger (the access lines write to it directly). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The service's one pino logger. `json`: a JSON object a line, written asynchronously (the
 * request never waits on stdout; what is buffered is flushed when the process exits). `pretty`:
 * pino-pretty's coloured lines, for a terminal. `destination` replaces stdout (tests).
 */
export function createRootLogger(config: LogConfig, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? defaultDestination(config),
  );
}

function defaultDestination(config: LogConfig): DestinationStream {
  if (config.format === 'pretty') {
    return pretty({ colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: true });
  }
  return pino.destination({ dest: 1, sync: false });
}
