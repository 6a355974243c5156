import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readFileSync } from 'node:fs';
import { IS_PUBLIC_KEY } from '../../../../src/common/routes/public.decorator';
import {
  REQUIRED_SCOPE_EXTENSION,
  REQUIRED_SCOPE_KEY,
} from '../../../../src/common/routes/required-scope.decorator';
import { DockerService } from '../../../../src/docker/docker.service';
import { OPENAPI_FILE } from '../../../../src/openapi/openapi';
import { appWithMockedDocker } from '../../../support/app-with-mocked-docker';
import { strictMock } from '../../../support/strict-mock';

/** Every route the application registers: its method, path, and whether it declares a scope. */
function registeredRoutes(app: NestFastifyApplication) {
  const reflector = new Reflector();
  const routes: { route: string; isPublic: boolean; declared: boolean }[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      const controller = metatype as { prototype: object } & (new () => object);
      const prototype = controller.prototype;
      const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
        const targets: Function[] = [handler, controller];
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        routes.push({
          route: `${method} /${base}/${path}`.replace(/\/+$/, '').replace(/\/{2,}/g, '/'),
          isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets) === true,
          declared: reflector.getAllAndOverride(REQUIRED_SCOPE_KEY, targets) !== undefined,
        });
      }
    }
  }
  return routes;
}

describe('every route declares the scope a scoped token needs', () => {
  let app: NestFastifyApplication | undefined;
  afterAll(() => app?.close());

  it('in its decorators (@RequiresScope or @MasterOnly), open routes (health, /metrics) aside', async () => {
    app = await appWithMockedDocker(strictMock<DockerService>('DockerService'), {
      API_TOKEN: 'a'.repeat(32),
      // /metrics exists only with its token.
      METRICS_TOKEN: 'm'.repeat(32),
    });
    const routes = registeredRoutes(app);
    // The walk finds the routes at all: a few known ones, open and not.
    expect(routes.map(({ route }) => route)).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /metrics',
        'POST /api/execute',
        'POST /api/tokens',
      ]),
    );
    const undeclared = routes.filter(({ isPublic, declared }) => !isPublic && !declared);
    expect(undeclared.map(({ route }) => route)).toEqual([]);
  });

  it('in the spec: each authenticated operation names it in x-required-scope and its description', () => {
    const spec = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    const authenticated = operations.filter(({ operation }) => operation.security !== undefined);
    expect(authenticated.length).toBeGreaterThan(15);
    for (const { path, method, operation } of authenticated) {
      const where = `${method.toUpperCase()} ${path}`;
      expect({ where, scope: operation[REQUIRED_SCOPE_EXTENSION] }).toEqual({
        where,
        scope: expect.objectContaining({ action: expect.any(String) }),
      });
      expect({ where, description: operation.description }).toEqual({
        where,
        description: expect.stringMatching(/Scope: /),
      });
    }
  });
});
