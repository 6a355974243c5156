import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { AppConfig } from './common/config/app-config';
import { AccessLog } from './common/logging/access-log';
import { HttpMetrics, routeOf } from './common/metrics/http-metrics';
import { requestIdFor } from './common/http/request-id';
import { securityHeaders } from './common/http/security-headers';
import { buildOpenApiDocument } from './openapi/openapi';

export interface CreateAppOptions {
  /** Where the logs go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
}

/**
 * Builds the whole application (used by main.ts, the tests and the spec script alike): the
 * Fastify adapter with its proxy trust and body limit, then `configureApp`.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options.logDestination),
    createAdapter(config),
    // Held until configureApp hands Nest the pino logger, so the boot's lines are JSON too.
    { bufferLogs: true },
  );
  await configureApp(app, config);
  return app;
}

export function createAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestIdFor,
  });
}

/**
 * The one Content-Security-Policy, for the JSON API and Swagger UI alike. Swagger UI loads only
 * same-origin scripts (its bundle and the generated init file), but its page has an inline
 * <style> and React sets style attributes, hence 'unsafe-inline' for styles and nothing else;
 * "Try it out" calls this origin only.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
};

/**
 * What the HTTP layer needs beyond the module: the pino logger, security headers, request ids,
 * each request's access line and metrics, CORS, docs.
 */
export async function configureApp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  app.useLogger(app.get(Logger));
  const headers = securityHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
  });
  const accessLog = app.get(AccessLog);
  const httpMetrics = app.get(HttpMetrics);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      void reply.headers(headers).header('x-request-id', request.id);
      done();
    })
    // Once the answer is sent (a stream: once it ends), in one hook for both.
    .addHook('onResponse', (request, reply, done) => {
      const route = routeOf(request);
      httpMetrics.observe(request.method, route, reply.statusCode, reply.elapsedTime);
      accessLog.write(request, reply.statusCode, reply.elapsedTime, route);
      done();
    });
  app.enableCors({
    origin: [...config.allowedOrigins],
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
  if (config.docsEnabled) {
    SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
      jsonDocumentUrl: 'openapi.json',
      yamlDocumentUrl: '',
      swaggerOptions: { persistAuthorization: true },
    });
  }
  await app.init();
  const fastify = app.getHttpAdapter().getInstance();
  // A JSON API: a body of any other type is answered 415 UNSUPPORTED_MEDIA_TYPE, rather than
  // parsed as a form or a string and then refused with misleading validation messages.
  fastify.removeContentTypeParser(NON_JSON_BODY_TYPES);
  await fastify.ready();
}

/** The body parsers Fastify and Nest add by default besides JSON's. */
const NON_JSON_BODY_TYPES = ['text/plain', 'application/x-www-form-urlencoded'];
