import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { BearerAuthGuard } from '../../../../src/common/auth/bearer-auth.guard';
import { EventsTokens, RunEnds } from '../../../../src/common/auth/events-tokens';
import { RouteTraitsReader } from '../../../../src/common/routes/route-traits';
import { Public } from '../../../../src/common/routes/public.decorator';
import { TokenGrant } from '../../../../src/common/auth/scoped-tokens';
import { TokenVerifier } from '../../../../src/common/auth/token-verifier';
import {
  MasterOnly,
  RequiresScope,
  ScopeEnvironment,
  TokenAction,
} from '../../../../src/common/routes/required-scope.decorator';
import { AppConfig } from '../../../../src/common/config/app-config';
import { loadConfig } from '../../../../src/common/config/load-config';
import { ApiError } from '../../../../src/common/errors/api-error';
import { strictMock } from '../../../support/strict-mock';

const TOKEN = 'k'.repeat(32);
const ROTATED = 'r'.repeat(48);

class ProtectedController {
  handler(): void {}
}
@Public()
class OpenController {
  handler(): void {}
}
class ScopedController {
  @RequiresScope(TokenAction.read, ScopeEnvironment.path)
  readInPath(): void {}
  @RequiresScope(TokenAction.run, ScopeEnvironment.body)
  runInBody(): void {}
  @RequiresScope(TokenAction.read, ScopeEnvironment.query)
  readInQuery(): void {}
  @RequiresScope(TokenAction.read, ScopeEnvironment.run)
  readRun(): void {}
  @RequiresScope(TokenAction.admin, ScopeEnvironment.all)
  adminEverywhere(): void {}
  @MasterOnly()
  masterOnly(): void {}
}
type ControllerClass = typeof ProtectedController;
type ScopedRoute = Exclude<keyof ScopedController, 'constructor'>;

interface FakeRequest {
  headers: Record<string, string>;
  params?: Record<string, string>;
  body?: unknown;
  query?: Record<string, string>;
  principal?: { tokenId: string; environments: ReadonlySet<string> | null };
}

function contextFor(
  controller: ControllerClass,
  authorization?: string,
  handler: () => void = controller.prototype.handler,
  parts: Omit<FakeRequest, 'headers'> = {},
) {
  const request: FakeRequest = {
    headers: authorization === undefined ? {} : { authorization },
    ...parts,
  };
  const context = new ExecutionContextHost([request, {}]);
  context.setType('http');
  jest.spyOn(context, 'getClass').mockReturnValue(controller);
  jest.spyOn(context, 'getHandler').mockReturnValue(handler);
  return { context: context as ExecutionContext, request };
}

function rejection(guard: BearerAuthGuard, context: ExecutionContext): ApiError {
  try {
    // The stubbed scoped tokens answer at once, so the guard does too.
    const verdict = guard.canActivate(context);
    if (verdict instanceof Promise) throw new Error('expected the guard to answer at once');
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the guard to reject');
}

describe('BearerAuthGuard', () => {
  const config: AppConfig = loadConfig({ API_TOKEN: TOKEN, API_TOKENS: ROTATED });
  const guard = new BearerAuthGuard(
    config,
    new RouteTraitsReader(new Reflector()),
    new EventsTokens(config),
    strictMock<RunEnds>('RunEnds'),
    { verify: () => null },
  );

  it('lets @Public() routes through without a token', () => {
    expect(guard.canActivate(contextFor(OpenController).context)).toBe(true);
  });

  it('accepts every configured token and tags the request with a non-secret token id', () => {
    const first = contextFor(ProtectedController, `Bearer ${TOKEN}`);
    const second = contextFor(ProtectedController, `Bearer ${ROTATED}`);
    expect(guard.canActivate(first.context)).toBe(true);
    expect(guard.canActivate(second.context)).toBe(true);
    expect(first.request.principal?.tokenId).toMatch(/^[0-9a-f]{16}$/);
    expect(first.request.principal?.tokenId).not.toEqual(second.request.principal?.tokenId);
  });

  it.each([
    ['missing', undefined, 'Bearer realm="claudecode-api"'],
    ['wrong scheme', `Token ${TOKEN}`, 'invalid_request'],
    ['empty', 'Bearer', 'invalid_request'],
    ['wrong', `Bearer ${'k'.repeat(31)}`, 'invalid_token'],
    ['very long', `Bearer ${'k'.repeat(100_000)}`, 'invalid_token'],
  ])('rejects a %s token with 401 and a challenge', (_case, header, challenge) => {
    const error = rejection(guard, contextFor(ProtectedController, header).context);
    expect(error.statusCode).toBe(401);
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.options.headers?.['WWW-Authenticate']).toContain(challenge);
  });
});

describe('BearerAuthGuard with scoped tokens', () => {
  const config: AppConfig = loadConfig({ API_TOKEN: TOKEN });
  const grants: Record<string, TokenGrant> = {
    'cca_dev-reader': {
      id: 'dev-reader',
      environments: new Set(['dev']),
      actions: new Set([TokenAction.read]),
    },
    'cca_dev-runner': {
      id: 'dev-runner',
      environments: new Set(['dev']),
      actions: new Set([TokenAction.read, TokenAction.run, TokenAction.admin]),
    },
    cca_everywhere: { id: 'everywhere', environments: null, actions: new Set([TokenAction.admin]) },
  };
  const guard = new BearerAuthGuard(
    config,
    new RouteTraitsReader(new Reflector()),
    new EventsTokens(config),
    strictMock<RunEnds>('RunEnds'),
    { verify: (token) => grants[token] ?? null },
  );
  const context = (
    token: string,
    route: ScopedRoute | 'undeclared',
    parts: Omit<FakeRequest, 'headers'> = {},
  ) =>
    route === 'undeclared'
      ? contextFor(ProtectedController, `Bearer ${token}`, undefined, parts)
      : contextFor(
          ScopedController as unknown as ControllerClass,
          `Bearer ${token}`,
          ScopedController.prototype[route],
          parts,
        );

  it.each<[string, ScopedRoute, Omit<FakeRequest, 'headers'>]>([
    ['its environment in the path', 'readInPath', { params: { env: 'dev' } }],
    ['no env filter (the history shows its own)', 'readInQuery', { query: {} }],
    ['its env filter', 'readInQuery', { query: { env: 'dev' } }],
    ['a run read by id (the service hides others)', 'readRun', { params: { id: 'x' } }],
  ])('lets a token with the action through: %s', (_case, route, parts) => {
    const { context: ctx, request } = context('cca_dev-reader', route, parts);
    expect(guard.canActivate(ctx)).toBe(true);
    expect(request.principal).toEqual({ tokenId: 'dev-reader', environments: new Set(['dev']) });
  });

  it.each<[string, string, ScopedRoute | 'undeclared', Omit<FakeRequest, 'headers'>, RegExp]>([
    [
      'an action it lacks',
      'cca_dev-reader',
      'runInBody',
      { body: { env: 'dev' } },
      /needs the run action/,
    ],
    [
      'another environment in the path',
      'cca_dev-reader',
      'readInPath',
      { params: { env: 'prod' } },
      /not in environment "prod"/,
    ],
    [
      'another environment in the body',
      'cca_dev-runner',
      'runInBody',
      { body: { env: 'prod' } },
      /not in environment "prod"/,
    ],
    [
      'another environment as a filter',
      'cca_dev-reader',
      'readInQuery',
      { query: { env: 'prod' } },
      /not in environment "prod"/,
    ],
    [
      'a route over every environment',
      'cca_dev-runner',
      'adminEverywhere',
      {},
      /every environment/,
    ],
    ['a master-only route', 'cca_everywhere', 'masterOnly', {}, /Only a master token/],
    ['a route that declares no scope', 'cca_everywhere', 'undeclared', {}, /Only a master token/],
  ])('refuses %s with 403 SCOPE_DENIED', (_case, token, route, parts, message) => {
    const { context: ctx, request } = context(token, route, parts);
    const error = rejection(guard, ctx);
    expect(error.statusCode).toBe(403);
    expect(error.code).toBe('SCOPE_DENIED');
    expect(error.message).toMatch(message);
    // The access line names the token that was refused.
    expect(request.principal?.tokenId).toBe(grants[token].id);
  });

  it('leaves a body without a string env to the validation (its 400, not a 403)', () => {
    for (const body of [{}, { env: 42 }, null, 'text']) {
      expect(guard.canActivate(context('cca_dev-runner', 'runInBody', { body }).context)).toBe(
        true,
      );
    }
  });

  it('lets a token for every environment through a route over all of them', () => {
    expect(guard.canActivate(context('cca_everywhere', 'adminEverywhere').context)).toBe(true);
  });

  it('refuses an unknown scoped token as any wrong token (401)', () => {
    const error = rejection(guard, context('cca_revoked', 'readInPath').context);
    expect(error.statusCode).toBe(401);
    expect(error.message).toBe('Invalid bearer token');
  });

  it('awaits a token the store must be asked about (replicas), then checks its scope alike', async () => {
    const asking = new BearerAuthGuard(
      config,
      new RouteTraitsReader(new Reflector()),
      new EventsTokens(config),
      strictMock<RunEnds>('RunEnds'),
      { verify: (token) => Promise.resolve(grants[token] ?? null) },
    );
    const admitted = context('cca_dev-reader', 'readInPath', { params: { env: 'dev' } });
    await expect(asking.canActivate(admitted.context)).resolves.toBe(true);
    expect(admitted.request.principal?.tokenId).toBe('dev-reader');
    await expect(
      asking.canActivate(
        context('cca_dev-reader', 'readInPath', { params: { env: 'prod' } }).context,
      ),
    ).rejects.toMatchObject({ code: 'SCOPE_DENIED' });
    await expect(
      asking.canActivate(context('cca_unknown', 'readInPath').context),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid bearer token' });
  });

  it('lets a master token through every route, declared or not', () => {
    for (const route of ['masterOnly', 'adminEverywhere', 'undeclared'] as const) {
      const { context: ctx, request } = context(TOKEN, route, { body: { env: 'prod' } });
      expect(guard.canActivate(ctx)).toBe(true);
      expect(request.principal?.environments).toBeNull();
    }
  });
});

describe('TokenVerifier', () => {
  it('matches only exact tokens, whatever their length', () => {
    const verifier = new TokenVerifier([TOKEN]);
    expect(verifier.verify(TOKEN)).not.toBeNull();
    for (const candidate of [
      '',
      'k',
      TOKEN.slice(1),
      `${TOKEN}k`,
      TOKEN.toUpperCase(),
      '\u0000'.repeat(32),
    ]) {
      expect(verifier.verify(candidate)).toBeNull();
    }
  });

  it('gives a token the same id after a restart (a new salt), and each token its own', () => {
    const other = 'o'.repeat(32);
    const before = new TokenVerifier([TOKEN, other]);
    const after = new TokenVerifier([other, TOKEN]);
    expect(after.verify(TOKEN)).toBe(before.verify(TOKEN));
    expect(after.verify(other)).toBe(before.verify(other));
    expect(before.verify(other)).not.toBe(before.verify(TOKEN));
  });
});
