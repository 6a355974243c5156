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
 *
 * A frame is written only once the socket has taken the previous ones (`write()` answering false
 * means its buffer is past the high-water mark, 16 KiB): the source is not pulled meanwhile, so a
 * client that stops reading holds at most that buffer and one frame here, never the whole run.
 * Heartbeats are skipped while the socket is backed up.
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
  const socket = new DrainingWriter(raw, disconnect.signal);
  socket.write(': stream open\n\n');
  // The socket keeps the process up while the client is there; the heartbeat never does.
  const heartbeat = setInterval(() => {
    if (!socket.backedUp) socket.write(': heartbeat\n\n');
  }, heartbeatMs).unref();
  request.raw.once('close', () => disconnect.abort());
  raw.once('close', () => disconnect.abort());
  try {
    for await (const frame of source(disconnect.signal)) {
      await socket.drained();
      if (raw.destroyed || disconnect.signal.aborted) break;
      socket.write(formatFrame(frame));
    }
  } finally {
    clearInterval(heartbeat);
    socket.close();
    raw.end();
  }
}

/** Writes to a response and tells when its socket has taken what was written. */
class DrainingWriter {
  backedUp = false;
  private waiter?: () => void;
  private readonly onDrain = () => this.release();

  constructor(
    private readonly raw: FastifyReply['raw'],
    private readonly gone: AbortSignal,
  ) {
    // Listened to all along: a drain that comes while the source is idle is not missed.
    raw.on('drain', this.onDrain);
    gone.addEventListener('abort', this.onDrain);
  }

  write(text: string): void {
    if (!this.raw.write(text)) this.backedUp = true;
  }

  /** Resolves at once unless the socket is backed up; then once it drains or the client goes. */
  drained(): Promise<void> {
    if (!this.backedUp || this.gone.aborted) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.raw.off('drain', this.onDrain);
    this.gone.removeEventListener('abort', this.onDrain);
    this.release();
  }

  private release(): void {
    this.backedUp = false;
    this.waiter?.();
    this.waiter = undefined;
  }
}

export function formatFrame(frame: SseFrame): string {
  let text = '';
  if (frame.id !== undefined) text += `id: ${frame.id}\n`;
  if (frame.event) text += `event: ${frame.event}\n`;
  for (const line of frame.data.split('\n')) text += `data: ${line}\n`;
  return `${text}\n`;
}
