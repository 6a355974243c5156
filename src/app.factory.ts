import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogLevel } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AppConfig } from './common/config/app-config';
import { requestIdFor } from './common/http/request-id';
import { buildOpenApiDocument } from './openapi/openapi';

export interface CreateAppOptions {
  logger?: LogLevel[] | false;
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
    AppModule.forRoot(config),
    createAdapter(config),
    { logger: options.logger ?? ['error', 'warn', 'log'] },
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

/** What the HTTP layer needs beyond the module: request ids, CORS, docs; then initialises. */
export async function configureApp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      void reply.header('x-request-id', request.id);
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
  await app.getHttpAdapter().getInstance().ready();
}
