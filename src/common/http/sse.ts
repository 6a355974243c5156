import type { FastifyReply, FastifyRequest } from 'fastify';

/** One Server-Sent Event. */
export interface SseFrame {
  id?: number;
  event?: string;
  data: string;
}

/**
 * Streams frames to the client as `text/event-stream`, each written as soon as it is produced,
 * with heartbeat comments so proxies keep an idle stream open. The frame source is told through
 * its signal when the client goes away.
 */
export async function sendSse(
  request: FastifyRequest,
  reply: FastifyReply,
  source: (signal: AbortSignal) => AsyncIterable<SseFrame>,
  heartbeatMs: number,
): Promise<void> {
  const disconnect = new AbortController();
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    // Keeps what the hooks set so far (x-request-id, CORS).
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(': stream open\n\n');
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
  request.raw.once('close', () => disconnect.abort());
  raw.once('close', () => disconnect.abort());
  try {
    for await (const frame of source(disconnect.signal)) {
      if (raw.destroyed) break;
      raw.write(formatFrame(frame));
    }
  } finally {
    clearInterval(heartbeat);
    raw.end();
  }
}

export function formatFrame(frame: SseFrame): string {
  let text = '';
  if (frame.id !== undefined) text += `id: ${frame.id}\n`;
  if (frame.event) text += `event: ${frame.event}\n`;
  for (const line of frame.data.split('\n')) text += `data: ${line}\n`;
  return `${text}\n`;
}
