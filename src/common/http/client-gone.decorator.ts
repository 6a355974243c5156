import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that aborts when the client goes away before its answer has been sent: the
 * response closes unfinished (the connection was closed or reset). For handlers that hold work
 * for the client, so that work stops when nobody waits for it any more.
 */
export const ClientGone = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AbortSignal => {
    const response = context.switchToHttp().getResponse<FastifyReply>().raw;
    const gone = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) gone.abort();
    });
    return gone.signal;
  },
);
