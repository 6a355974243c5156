import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AuthenticatedRequest } from '../auth/authenticated-request';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { UNMATCHED_ROUTE } from '../metrics/http-metrics';
import { ROOT_LOGGER, RootLogger } from './root-logger';

/** One request as its access line tells it. Built from named fields only: no header, no query. */
export interface AccessLine {
  reqId: string;
  method: string;
  /** The route's pattern (`/api/executions/:id`), as the metrics count it. */
  route: string;
  status: number;
  durationMs: number;
  ip: string;
  /** The non-secret id of the token that was let through (`run:<id>` for an events token). */
  tokenId?: string;
  env?: string;
  runId?: string;
  sessionId?: string;
  /** The path of a request no route matched (without its query), to see what was asked. */
  path?: string;
  /** Only with LOG_CONTENT=true. */
  prompt?: string;
}

/** The longest value copied from a request body into a line (environment names, uuids). */
const MAX_BODY_FIELD = 64;

/**
 * The access line of a request. What names the run, the session and the environment comes from
 * the route's path parameters, or from the body of the routes that start runs; the prompt only
 * when `withContent` (LOG_CONTENT). The token itself, the headers and the query string (where an
 * events token travels) are never read.
 */
export function accessLineOf(
  request: FastifyRequest,
  status: number,
  elapsedMs: number,
  route: string,
  withContent: boolean,
): AccessLine {
  const line: AccessLine = {
    reqId: request.id,
    method: request.method,
    route,
    status,
    durationMs: Math.round(elapsedMs * 1000) / 1000,
    ip: request.ip,
  };
  const tokenId = (request as AuthenticatedRequest).principal?.tokenId;
  if (tokenId !== undefined) line.tokenId = tokenId;
  if (route === UNMATCHED_ROUTE) {
    line.path = request.url.split('?', 1)[0].slice(0, 200);
    return line;
  }
  const params = request.params as Record<string, string | undefined>;
  const body = request.body as Record<string, unknown> | null | undefined;
  const env = params.env ?? shortString(body?.env);
  if (env !== undefined) line.env = env;
  if (params.id !== undefined) {
    if (route.startsWith('/api/executions/')) line.runId = params.id;
    else if (route.startsWith('/api/sessions/')) line.sessionId = params.id;
  } else {
    const sessionId = shortString(body?.sessionId);
    if (sessionId !== undefined) line.sessionId = sessionId;
  }
  if (withContent && typeof body?.prompt === 'string') line.prompt = body.prompt;
  return line;
}

function shortString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_BODY_FIELD ? value : undefined;
}

/** Writes one access line a request, at `error` for a 5xx and `info` otherwise. */
@Injectable()
export class AccessLog {
  private readonly withContent: boolean;

  private readonly logger: Logger;

  constructor(@Inject(ROOT_LOGGER) root: RootLogger, @Inject(APP_CONFIG) config: AppConfig) {
    this.logger = root.logger;
    this.withContent = config.log.content;
  }

  write(request: FastifyRequest, status: number, elapsedMs: number, route: string): void {
    const level = status >= 500 ? 'error' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    this.logger[level](
      accessLineOf(request, status, elapsedMs, route, this.withContent),
      'request completed',
    );
  }
}
