import { trimSlash } from './url.js';

/** One event of a run's stream: a message of the run, or the final `end`. */
export type ExecutionEvent =
  | { id: number; type: ExecutionMessageType; message: ExecutionMessage }
  | { id: null; type: 'end'; end: ExecutionEnd };

/** The Agent SDK's message types (the CLI's stream-json line types). */
export type ExecutionMessageType =
  'system' | 'assistant' | 'user' | 'result' | 'stream_event' | 'tool_progress' | (string & {});

/** A message as the CLI wrote it; `type` tells its shape. */
export interface ExecutionMessage {
  type: ExecutionMessageType;
  subtype?: string;
  session_id?: string;
  uuid?: string;
  [field: string]: unknown;
}

/** What the final `end` event says about the run. */
export interface ExecutionEnd {
  id: string;
  status: 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'interrupted';
  sessionId: string;
  exitCode: number | null;
  error: string | null;
  errorCode: string | null;
  eventCount: number;
  eventsDropped: number;
}

export interface StreamExecutionOptions {
  baseUrl: string;
  /** The API token, or omit it and pass the run's `eventsToken`. */
  token?: string;
  eventsToken?: string;
  /** Resume after this event id (what `Last-Event-ID` does). */
  lastEventId?: number;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
}

/**
 * Follows a run's events over `GET /api/executions/{id}/events`, typed, until its `end` event.
 * Works in Node and in browsers (fetch streams); browsers may also use `eventSourceUrl`.
 */
export async function* streamExecution(
  id: string,
  options: StreamExecutionOptions,
): AsyncGenerator<ExecutionEvent> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
  const url = eventsUrl(options.baseUrl, id);
  if (!options.token && options.eventsToken)
    url.searchParams.set('access_token', options.eventsToken);
  const response = await (options.fetch ?? fetch)(url, { headers, signal: options.signal });
  if (!response.ok || !response.body) {
    throw new Error(`streamExecution: HTTP ${response.status} ${await response.text()}`);
  }
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (!event) continue;
      yield event;
      if (event.type === 'end') return;
    }
  }
}

/** The URL for a browser `EventSource`, opened with the run-scoped `eventsToken`. */
export function eventSourceUrl(baseUrl: string, id: string, eventsToken: string): string {
  const url = eventsUrl(baseUrl, id);
  url.searchParams.set('access_token', eventsToken);
  return url.toString();
}

/** Parses one SSE frame; comments (heartbeats) give null. */
export function parseFrame(frame: string): ExecutionEvent | null {
  let id: string | undefined;
  let type = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const payload: unknown = JSON.parse(data.join('\n'));
  if (type === 'end') return { id: null, type: 'end', end: payload as ExecutionEnd };
  return { id: Number(id), type, message: payload as ExecutionMessage };
}

function eventsUrl(baseUrl: string, id: string): URL {
  return new URL(`${trimSlash(baseUrl)}/api/executions/${encodeURIComponent(id)}/events`);
}
