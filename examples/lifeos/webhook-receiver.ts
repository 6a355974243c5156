/**
 * LifeOS's receiver of claudecode-api's webhooks: it checks each delivery's Standard Webhooks
 * signature (the `standardwebhooks` package, which runs in Convex, Vercel and browsers alike),
 * stores each run's end, and answers 2xx so the service stops retrying.
 *
 * The handler is a plain `(Request) => Promise<Response>`, so it mounts as it is:
 *
 * - Vercel function (`api/claudecode-webhook.ts`):
 *   `export const POST = createClaudeCodeWebhookHandler({ secret: process.env.CLAUDECODE_WEBHOOK_SECRET!, store });`
 * - Convex HTTP action (`convex/http.ts`), storing through a mutation:
 *   ```ts
 *   http.route({ path: '/claudecode-webhook', method: 'POST', handler: httpAction((ctx, request) =>
 *     createClaudeCodeWebhookHandler({
 *       secret: process.env.CLAUDECODE_WEBHOOK_SECRET!,
 *       store: { saveRun: (run, deliveryId) => ctx.runMutation(internal.claudecode.saveRun, { run, deliveryId }) },
 *     })(request)) });
 *   ```
 *
 * The secret is the service's WEBHOOK_SECRET (`whsec_…`). A delivery may arrive more than once
 * (a retry after an answer that got lost): `webhook-id` stays the same, and saving a run by its
 * id makes a second arrival harmless.
 */
import type { components } from '@lifeos/claudecode-api-client';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** A run's end, as `run.ended` carries it: the run as the API shows it, without its prompt. */
export type ClaudeCodeRunEnded = Pick<
  components['schemas']['ExecutionDto'],
  | 'id'
  | 'env'
  | 'sessionId'
  | 'status'
  | 'createdAt'
  | 'startedAt'
  | 'finishedAt'
  | 'result'
  | 'truncated'
  | 'costUsd'
  | 'usage'
  | 'error'
  | 'errorCode'
>;

/** A verified delivery's body: `run.ended`, `ask.requested`, `container.idle_stopped`… */
export interface ClaudeCodeWebhookEvent {
  type: string;
  /** When the event happened (ISO). */
  timestamp: string;
  data: unknown;
}

export interface ClaudeCodeRunStore {
  /** Saves the run's end, replacing what was saved for the same run id. */
  saveRun(run: ClaudeCodeRunEnded, deliveryId: string): Promise<void>;
}

export interface ClaudeCodeWebhookOptions {
  /** WEBHOOK_SECRET of the service, `whsec_…`. */
  secret: string;
  store: ClaudeCodeRunStore;
  /** The other event types (an approval waits, a container was stopped…); ignored when unset. */
  onEvent?: (event: ClaudeCodeWebhookEvent, deliveryId: string) => Promise<void>;
}

/**
 * Answers 401 to a delivery whose signature does not verify (or is older than five minutes),
 * 204 once it is stored. Anything thrown while storing becomes a 5xx, which the service retries.
 */
export function createClaudeCodeWebhookHandler(
  options: ClaudeCodeWebhookOptions,
): (request: Request) => Promise<Response> {
  const webhook = new Webhook(options.secret);
  return async (request) => {
    if (request.method !== 'POST') return new Response(null, { status: 405 });
    // Verified on the exact bytes sent: parse only after.
    const body = await request.text();
    let event: ClaudeCodeWebhookEvent;
    try {
      event = webhook.verify(body, headersOf(request)) as ClaudeCodeWebhookEvent;
    } catch (error) {
      if (error instanceof WebhookVerificationError) {
        return new Response('invalid signature', { status: 401 });
      }
      throw error;
    }
    const deliveryId = request.headers.get('webhook-id') ?? '';
    if (event.type === 'run.ended') {
      await options.store.saveRun(event.data as ClaudeCodeRunEnded, deliveryId);
    } else {
      await options.onEvent?.(event, deliveryId);
    }
    return new Response(null, { status: 204 });
  };
}

function headersOf(request: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  return headers;
}
