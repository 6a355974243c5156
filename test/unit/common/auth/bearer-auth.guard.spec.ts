import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { BearerAuthGuard } from '../../../../src/common/auth/bearer-auth.guard';
import { EventsTokens, RunEnds } from '../../../../src/common/auth/events-tokens';
import { RouteTraitsReader } from '../../../../src/common/routes/route-traits';
import { Public } from '../../../../src/common/routes/public.decorator';
import { TokenVerifier } from '../../../../src/common/auth/token-verifier';
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
type ControllerClass = typeof ProtectedController;

function contextFor(controller: ControllerClass, authorization?: string) {
  const request: { headers: Record<string, string>; principal?: { tokenId: string } } = {
    headers: authorization === undefined ? {} : { authorization },
  };
  const context = new ExecutionContextHost([request, {}]);
  context.setType('http');
  jest.spyOn(context, 'getClass').mockReturnValue(controller);
  jest.spyOn(context, 'getHandler').mockReturnValue(controller.prototype.handler);
  return { context: context as ExecutionContext, request };
}

function rejection(guard: BearerAuthGuard, context: ExecutionContext): ApiError {
  try {
    guard.canActivate(context);
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
