import { Inject, Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';

export interface EventsToken {
  token: string;
  expiresAt: string;
}

/**
 * When a run ended (ms since the epoch), or null while it has not (or is not known): an events
 * token stops working a grace after its run's end. The executions feature provides it, so the
 * auth guard reads the history without depending on that feature.
 */
export abstract class RunEnds {
  abstract endedAt(runId: string): Promise<number | null>;
}

/**
 * Short-lived tokens that open one run's event stream, for the browser's EventSource, which
 * cannot send an Authorization header. A token names its run and its expiry and is signed with a
 * key derived from API_TOKEN, so it survives a restart but not a rotation of the main token. It
 * serves its run only, and expires EVENTS_TOKEN_TTL_MS after it was issued or
 * EVENTS_TOKEN_GRACE_MS after its run ended, whichever comes first: a stream already open when
 * the run ends still gets its `end` event; only a new one is refused.
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

  /**
   * True when the token was issued for this run, has not expired, and the run has not ended more
   * than the grace ago. `runEndedAt` is asked only of a genuine token of this run.
   */
  async verify(
    token: string,
    runId: string,
    runEndedAt: (runId: string) => Promise<number | null>,
    now = Date.now(),
  ): Promise<boolean> {
    const [encoded, signature, extra] = token.split('.');
    if (!encoded || !signature || extra !== undefined) return false;
    const payload = Buffer.from(encoded, 'base64url').toString('utf8');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
    const [tokenRunId, expiresAt] = payload.split('.');
    if (tokenRunId !== runId || !(Number(expiresAt) > now)) return false;
    const endedAt = await runEndedAt(runId);
    return endedAt === null || now < endedAt + this.config.history.eventsTokenGraceMs;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
