import { envParams, startTestApp, TestApp, withoutToken } from '../support/test-app';

const ALLOWED_ORIGIN = 'https://lifeos.example.com';

/** GET /api/containers/dev with these headers over the token's; a null one is left out. */
const getStatus = (t: TestApp, headers: Record<string, string | null> = {}) =>
  t.client.GET('/api/containers/{env}', { ...envParams('dev'), headers });

describe('HTTP guard rails', () => {
  describe('auth, errors, CORS and request ids', () => {
    let t: TestApp;
    const secondToken = 'rotated-token-'.padEnd(40, 'z');

    beforeAll(async () => {
      t = await startTestApp({
        ALLOWED_ORIGINS: `${ALLOWED_ORIGIN},http://localhost:5173`,
        API_TOKENS: secondToken,
        BODY_LIMIT_BYTES: '2048',
        MAX_PROMPT_BYTES: '1024',
      });
    });
    afterAll(() => t.close());

    it('keeps /health open', async () => {
      const res = await t.client.GET('/health', withoutToken);
      expect(res.response.status).toBe(200);
      expect(res.data).toEqual({ status: 'ok' });
    });

    it('accepts the main token and a rotation token, with any case of the scheme', async () => {
      for (const authorization of [`Bearer ${t.token}`, `bearer ${secondToken}`]) {
        expect((await getStatus(t, { authorization })).response.status).toBe(200);
      }
    });

    it.each([
      ['no header', undefined, 'Bearer realm="claudecode-api"'],
      ['an empty bearer', 'Bearer ', 'error="invalid_request"'],
      ['another scheme', 'Basic dXNlcjpwYXNz', 'error="invalid_request"'],
      ['a token with a space', 'Bearer a b', 'error="invalid_request"'],
      ['non-ASCII', 'Bearer töken', 'error="invalid_request"'],
      ['a wrong token of 1 char', 'Bearer x', 'error="invalid_token"'],
      ['a wrong token of 31 chars', `Bearer ${'x'.repeat(31)}`, 'error="invalid_token"'],
      ['a wrong token of 32 chars', `Bearer ${'x'.repeat(32)}`, 'error="invalid_token"'],
      ['a wrong token of 8000 chars', `Bearer ${'x'.repeat(8000)}`, 'error="invalid_token"'],
    ])(
      'answers 401 UNAUTHORIZED with WWW-Authenticate for %s',
      async (_case, authorization, challenge) => {
        const { response, error } = await getStatus(t, { authorization: authorization ?? null });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toContain(challenge);
        expect(error).toEqual({
          statusCode: 401,
          code: 'UNAUTHORIZED',
          message: expect.any(String),
          requestId: response.headers.get('x-request-id'),
        });
      },
    );

    it('rejects the right token with extra characters', async () => {
      const res = await getStatus(t, { authorization: `Bearer ${t.token}x` });
      expect(res.response.status).toBe(401);
    });

    it('sends x-request-id on every response and keeps a safe incoming one', async () => {
      const fresh = await t.client.GET('/health', withoutToken);
      expect(fresh.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const kept = await t.request('GET', '/nope', {
        headers: { 'x-request-id': 'trace-123' },
        offSpec: true,
      });
      expect(kept.headers.get('x-request-id')).toBe('trace-123');
      expect(kept.body).toMatchObject({ requestId: 'trace-123' });
      const unsafe = await t.client.GET('/health', { headers: { 'x-request-id': 'a b<script>' } });
      expect(unsafe.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('answers an unknown route with the error shape', async () => {
      const res = await t.request('GET', '/api/nothing-here', { offSpec: true });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        statusCode: 404,
        code: 'NOT_FOUND',
        message: 'Cannot GET /api/nothing-here',
        requestId: res.headers.get('x-request-id'),
      });
    });

    it('answers a body over the limit with 413 in the error shape', async () => {
      const res = await t.request('POST', '/api/containers/dev/stop', {
        body: { padding: 'x'.repeat(4096) },
      });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
    });

    it('answers malformed JSON with 400 VALIDATION_FAILED', async () => {
      const res = await t.request('POST', '/api/containers/dev/stop', { body: '{"broken' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
      'answers a body of type %s with 415 UNSUPPORTED_MEDIA_TYPE, and creates nothing',
      async (contentType) => {
        const before = await t.client.GET('/api/sessions/{env}', envParams('dev'));
        const res = await t.request('POST', '/api/sessions', {
          body: 'env=dev',
          headers: { 'content-type': contentType },
        });
        expect(res.status).toBe(415);
        expect(res.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
        const after = await t.client.GET('/api/sessions/{env}', envParams('dev'));
        expect(before.response.status).toBe(200);
        expect(after.data?.items).toEqual(before.data?.items);
      },
    );

    it('allows CORS only for the configured origins', async () => {
      const preflight = (origin: string) =>
        fetch(`${t.baseUrl}/api/containers/dev`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      const allowed = await preflight(ALLOWED_ORIGIN);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/i);

      const foreign = await preflight('https://evil.example.com');
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

      const simple = await getStatus(t, { origin: ALLOWED_ORIGIN });
      expect(simple.response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      const simpleForeign = await getStatus(t, { origin: 'https://lifeos.example.com.evil.net' });
      expect(simpleForeign.response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('throttling', () => {
    it('counts failed logins per IP, answers 429 with Retry-After, and ignores a forged X-Forwarded-For', async () => {
      const t = await startTestApp({ THROTTLE_IP_LIMIT: '4', THROTTLE_IP_TTL_MS: '60000' });
      try {
        for (let i = 0; i < 4; i += 1) {
          const res = await getStatus(t, { authorization: 'Bearer wrong-token' });
          expect(res.response.status).toBe(401);
        }
        const limited = await getStatus(t);
        expect(limited.response.status).toBe(429);
        expect(limited.error).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
        const retryAfter = Number(limited.response.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);

        const forged = await getStatus(t, { 'x-forwarded-for': '203.0.113.9' });
        expect(forged.response.status).toBe(429);

        const health = await t.client.GET('/health', withoutToken);
        expect(health.response.status).toBe(200);
      } finally {
        await t.close();
      }
    });

    it('trusts X-Forwarded-For only from a configured proxy', async () => {
      const t = await startTestApp({
        THROTTLE_IP_LIMIT: '2',
        TRUST_PROXY: '127.0.0.1',
      });
      try {
        const from = async (ip: string) =>
          (await getStatus(t, { 'x-forwarded-for': ip })).response.status;
        expect(await from('198.51.100.1')).toBe(200);
        expect(await from('198.51.100.1')).toBe(200);
        expect(await from('198.51.100.1')).toBe(429);
        expect(await from('198.51.100.2')).toBe(200);
      } finally {
        await t.close();
      }
    });

    it('keeps a separate bucket per token', async () => {
      const other = 'second-token-'.padEnd(40, 'q');
      const t = await startTestApp({ THROTTLE_TOKEN_LIMIT: '2', API_TOKENS: other });
      try {
        expect((await getStatus(t)).response.status).toBe(200);
        expect((await getStatus(t)).response.status).toBe(200);
        const limited = await getStatus(t);
        expect(limited.response.status).toBe(429);
        expect(limited.response.headers.get('retry-after')).toMatch(/^\d+$/);
        const otherToken = await getStatus(t, { authorization: `Bearer ${other}` });
        expect(otherToken.response.status).toBe(200);
      } finally {
        await t.close();
      }
    });
  });
});
