import {
  createTokenHandler,
  POST,
  settingsFromEnv,
  TokenFunctionSettings,
} from '../../../examples/lifeos/api/claudecode-token';

const MASTER = 'master-token-never-in-a-browser';

/** claudecode-api's POST /api/tokens behind `fetch`, answering `status` and recording requests. */
function tokensRoute(status = 201) {
  const minted: { url: string; authorization: string | null; body: unknown }[] = [];
  const fetch = jest.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    minted.push({
      url: request.url,
      authorization: request.headers.get('authorization'),
      body: await request.json(),
    });
    const body =
      status === 201
        ? { id: 'tok-1', token: 'scoped-token', expiresAt: '2026-12-01T12:15:00.000Z' }
        : { code: 'VALIDATION_FAILED', message: 'environments: unknown environment prod' };
    return new Response(JSON.stringify(body), { status });
  });
  return { fetch, minted };
}

function settings(overrides: Partial<TokenFunctionSettings> = {}): TokenFunctionSettings {
  return {
    apiUrl: 'http://127.0.0.1:9/',
    masterToken: MASTER,
    authenticate: (request) =>
      Promise.resolve(request.headers.get('cookie') === 'session=ada' ? { id: 'ada' } : null),
    scopeFor: () => ({ environments: ['dev'], actions: ['read', 'run'] }),
    ttlSeconds: 900,
    ...overrides,
  };
}

const asked = (headers: Record<string, string> = { cookie: 'session=ada' }) =>
  new Request('https://lifeos.test/api/claudecode-token', { method: 'POST', headers });

describe("LifeOS's token function (examples/lifeos/api/claudecode-token.ts)", () => {
  it("mints a scoped, short-lived token for the signed-in user with the server's master token", async () => {
    const service = tokensRoute();
    const response = await createTokenHandler(settings({ fetch: service.fetch }))(asked());
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      token: 'scoped-token',
      expiresAt: '2026-12-01T12:15:00.000Z',
    });
    expect(text).not.toContain(MASTER);
    expect(service.minted).toEqual([
      {
        url: 'http://127.0.0.1:9/api/tokens',
        authorization: `Bearer ${MASTER}`,
        body: {
          name: 'lifeos:ada',
          environments: ['dev'],
          actions: ['read', 'run'],
          ttlSeconds: 900,
        },
      },
    ]);
  });

  it('refuses whoever is not signed in, without asking the service', async () => {
    const service = tokensRoute();
    const response = await createTokenHandler(settings({ fetch: service.fetch }))(asked({}));
    expect(response.status).toBe(401);
    expect(service.fetch).not.toHaveBeenCalled();
  });

  it("passes on the service's refusal, never the master token", async () => {
    const service = tokensRoute(400);
    const response = await createTokenHandler(settings({ fetch: service.fetch }))(asked());
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      message: 'claudecode-api refused a token (HTTP 400): environments: unknown environment prod',
    });
    expect(text).not.toContain(MASTER);
  });

  it('reads its settings from the server environment and names a missing or bad one', () => {
    const env = {
      CLAUDECODE_API_URL: 'https://claudecode.test',
      CLAUDECODE_API_TOKEN: MASTER,
      CLAUDECODE_TOKEN_ENVIRONMENTS: 'dev, staging',
      CLAUDECODE_TOKEN_ACTIONS: 'read,run,admin',
    };
    const read = settingsFromEnv(env);
    expect(read).toMatchObject({ apiUrl: 'https://claudecode.test', ttlSeconds: 900 });
    expect(read.scopeFor({ id: 'ada' })).toEqual({
      environments: ['dev', 'staging'],
      actions: ['read', 'run', 'admin'],
    });
    expect(
      settingsFromEnv({ ...env, CLAUDECODE_TOKEN_ACTIONS: undefined }).scopeFor({ id: 'a' }),
    ).toEqual({ environments: ['dev', 'staging'], actions: ['read', 'run'] });
    expect(() => settingsFromEnv({ ...env, CLAUDECODE_API_TOKEN: '' })).toThrow(
      'CLAUDECODE_API_TOKEN is not set',
    );
    expect(() => settingsFromEnv({ ...env, CLAUDECODE_TOKEN_ACTIONS: 'read,delete' })).toThrow(
      'CLAUDECODE_TOKEN_ACTIONS: unknown action delete',
    );
    expect(() => settingsFromEnv({ ...env, CLAUDECODE_TOKEN_TTL_SECONDS: '30' })).toThrow(
      /CLAUDECODE_TOKEN_TTL_SECONDS/,
    );
  });

  it('as deployed, refuses everyone until the sign-in check is written', async () => {
    const saved = { ...process.env };
    process.env.CLAUDECODE_API_URL = 'http://127.0.0.1:9';
    process.env.CLAUDECODE_API_TOKEN = MASTER;
    try {
      expect((await POST(asked())).status).toBe(401);
      delete process.env.CLAUDECODE_API_TOKEN;
      jest.spyOn(console, 'error').mockImplementation(() => undefined);
      const unconfigured = await POST(asked());
      expect(unconfigured.status).toBe(500);
      expect(await unconfigured.json()).toEqual({
        message: 'The token function is not configured',
      });
    } finally {
      process.env = saved;
      jest.restoreAllMocks();
    }
  });
});
