import {
  createTokenHandler,
  TokenFunctionSettings,
} from '../../examples/lifeos/api/claudecode-token';
import * as claudecode from '../../examples/lifeos/claudecode';
import { serveFetchHandler, ServedHandler } from '../support/fetch-handler-server';
import { specCheckedFetch } from '../support/spec-checked-client';
import { startTestApp, TestApp } from '../support/test-app';

const ADA_SESSION = 'Bearer lifeos-session-of-ada';

describe("LifeOS's token function against the real service", () => {
  let t: TestApp;
  let tokenFunction: ServedHandler;

  beforeAll(async () => {
    t = await startTestApp({ ENVIRONMENTS: 'dev,staging' });
    const settings: TokenFunctionSettings = {
      apiUrl: t.baseUrl,
      masterToken: t.token,
      authenticate: (request) =>
        Promise.resolve(
          request.headers.get('authorization') === ADA_SESSION ? { id: 'ada' } : null,
        ),
      scopeFor: () => ({ environments: ['dev'], actions: ['read'] }),
      ttlSeconds: 300,
    };
    tokenFunction = await serveFetchHandler(createTokenHandler(settings), '/api/claudecode-token');
  });
  afterAll(async () => {
    claudecode.configureClaudeCode(undefined);
    await tokenFunction.close();
    await t.close();
  });

  it('mints a token the service takes within its scope and refuses outside it', async () => {
    const minted = await fetch(tokenFunction.url, {
      method: 'POST',
      headers: { authorization: ADA_SESSION },
    });
    expect(minted.status).toBe(200);
    const { token, expiresAt } = (await minted.json()) as { token: string; expiresAt: string };
    expect(token).not.toBe(t.token);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);

    const statusOf = (env: string) =>
      t.request('GET', `/api/containers/${env}`, {
        auth: false,
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await statusOf('dev')).status).toBe(200);
    expect((await statusOf('staging')).body).toMatchObject({
      statusCode: 403,
      code: 'SCOPE_DENIED',
    });

    const signedOut = await fetch(tokenFunction.url, { method: 'POST' });
    expect(signedOut.status).toBe(401);
  });

  it('is what the adapter uses on the web: it reads within the scope, and is refused outside it', async () => {
    claudecode.configureClaudeCode({
      baseUrl: t.baseUrl,
      token: claudecode.tokenFromFunction(tokenFunction.url, {
        headers: () => ({ authorization: ADA_SESSION }),
      }),
      fetch: specCheckedFetch,
    });
    expect(await claudecode.getContainerStatus('dev')).toEqual({
      name: `${t.config.agent.containerPrefix}dev`,
      exists: false,
      running: false,
    });
    // A read-only token: starting a container is a `run` action.
    await expect(claudecode.startContainer('dev')).rejects.toMatchObject({
      name: 'ClaudeCodeError',
      code: 'SCOPE_DENIED',
      status: 403,
    });
  });
});
