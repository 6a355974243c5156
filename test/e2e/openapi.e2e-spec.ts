import { startTestApp } from '../support/test-app';

interface Spec {
  paths: Record<string, Record<string, { operationId: string; security?: unknown[] }>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

describe('OpenAPI endpoints', () => {
  it('serves the spec and Swagger UI openly, with method-name operation ids and a bearer scheme', async () => {
    const t = await startTestApp();
    try {
      // The spec's own routes are not in it.
      const res = await t.request('GET', '/openapi.json', { auth: false, offSpec: true });
      expect(res.status).toBe(200);
      const spec = res.body as Spec;
      const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(
          ([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`,
        ),
      );
      expect(operations).toEqual(
        expect.arrayContaining([
          'GET /health getHealth',
          'GET /health/ready getReadiness',
          'GET /api/containers/{env} getContainerStatus',
          'POST /api/containers/{env}/start startContainer',
          'POST /api/containers/{env}/stop stopContainer',
        ]),
      );
      expect(spec.components.securitySchemes.bearer).toMatchObject({
        type: 'http',
        scheme: 'bearer',
      });
      expect(spec.paths['/api/containers/{env}'].get.security).toEqual([{ bearer: [] }]);

      const ui = await t.request('GET', '/docs', { auth: false, offSpec: true });
      expect(ui.status).toBe(200);
      expect(ui.text).toContain('swagger-ui');
    } finally {
      await t.close();
    }
  });

  it('can switch the docs off', async () => {
    const t = await startTestApp({ DOCS_ENABLED: 'false' });
    try {
      for (const path of ['/openapi.json', '/docs']) {
        expect((await t.request('GET', path, { auth: false, offSpec: true })).status).toBe(404);
      }
    } finally {
      await t.close();
    }
  });
});
