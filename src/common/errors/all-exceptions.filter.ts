import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './to-error-response';

/** Registered as APP_FILTER: every error a handler, guard or pipe throws leaves in one shape. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const { body, headers } = toErrorResponse(exception, request.id);
    void http.getResponse<FastifyReply>().headers(headers).status(body.statusCode).send(body);
  }
}
