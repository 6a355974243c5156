import { Inject, Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';

export interface EventsToken {
  token: string;
  expiresAt: string;
}

/**
 * Short-lived tokens that open one run's event stream, for the browser's EventSource, which
 * cannot send an Authorization header. A token names its run and its expiry and is signed with a
 * key derived from API_TOKEN, so it survives a restart but not a rotation of the main token.
 */
@Injectable()
export class EventsTokens {
  private readonly key: Buffer;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.key = createHmac('sha256', config.apiTokens[0])
      .update('claudecode-api events token')
      .digest();
  }

  issue(runId: string, now = Date.now()): EventsToken {
    const expiresAt = now + this.config.history.eventsTokenTtlMs;
    const payload = `${runId}.${expiresAt}`;
    return {
      token: `${Buffer.from(payload).toString('base64url')}.${this.sign(payload)}`,
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  /** True when the token was issued for this run and has not expired. */
  verify(token: string, runId: string, now = Date.now()): boolean {
    const [encoded, signature, extra] = token.split('.');
    if (!encoded || !signature || extra !== undefined) return false;
    const payload = Buffer.from(encoded, 'base64url').toString('utf8');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
    const [tokenRunId, expiresAt] = payload.split('.');
    return tokenRunId === runId && Number(expiresAt) > now;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
