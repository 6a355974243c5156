import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import {
  ClaudeCodeRunEnded,
  ClaudeCodeWebhookEvent,
  createClaudeCodeWebhookHandler,
} from '../../examples/lifeos/webhook-receiver';
import { waitUntil } from './wait';

/** A fresh Standard Webhooks secret, as an operator makes one. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** What reached the receiver: each request's answer, and what the example handler stored. */
export interface WebhookReceiver {
  url: string;
  /** Every request, verified or not, with the status it was answered. */
  requests: { webhookId: string | undefined; status: number }[];
  /** The runs the handler stored, by run id (a redelivery replaces). */
  runs: Map<string, ClaudeCodeRunEnded>;
  /** The other verified events, in arrival order. */
  events: ClaudeCodeWebhookEvent[];
  /**
   * The next `count` requests are answered `status` without reaching the handler (a 3xx points
   * back at the receiver, so a client that followed it would deliver), or never answered (`hang`).
   */
  failNext(count: number, status: number | 'hang'): void;
  /** Resolves once the run `id` is stored. */
  runStored(id: string): Promise<ClaudeCodeRunEnded>;
  close(): Promise<void>;
}

/**
 * LifeOS's example receiver (examples/lifeos/webhook-receiver.ts) behind a Node HTTP server on
 * 127.0.0.1: the same verification and storing code path a Vercel function or Convex action runs.
 * `port` reopens a receiver where a closed one listened.
 */
export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  const requests: WebhookReceiver['requests'] = [];
  const runs = new Map<string, ClaudeCodeRunEnded>();
  const events: ClaudeCodeWebhookEvent[] = [];
  const handle = createClaudeCodeWebhookHandler({
    secret,
    store: { saveRun: (run) => Promise.resolve(void runs.set(run.id, run)) },
    onEvent: (event) => Promise.resolve(void events.push(event)),
  });
  const failures: (number | 'hang')[] = [];

  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const body = await readBody(incoming);
      const webhookId = incoming.headers['webhook-id'] as string | undefined;
      let status = failures.shift();
      if (status === 'hang') return;
      if (status === undefined) {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (typeof value === 'string') headers.set(name, value);
        }
        const request = new Request(`http://127.0.0.1${incoming.url ?? '/'}`, {
          method: incoming.method,
          headers,
          body: incoming.method === 'POST' ? body : undefined,
        });
        status = (await handle(request)).status;
      }
      requests.push({ webhookId, status });
      const redirect = status >= 300 && status < 400 ? { location: url } : {};
      outgoing.writeHead(status, redirect).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}/claudecode-webhook`;

  return {
    url,
    requests,
    runs,
    events,
    failNext: (count, status) => failures.push(...Array<number | 'hang'>(count).fill(status)),
    runStored: async (id) => {
      await waitUntil(() => Promise.resolve(runs.has(id)), `run ${id} stored by the receiver`);
      return runs.get(id) as ClaudeCodeRunEnded;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a delivery log until an entry matches, and answers it. */
export async function deliveryLogged<D>(
  read: () => Promise<D[]>,
  matches: (delivery: D) => boolean,
): Promise<D> {
  let found: D | undefined;
  await waitUntil(async () => {
    found = (await read()).find(matches);
    return found !== undefined;
  }, 'the delivery log to show it');
  return found as D;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
