import { specCheckedFetch } from './spec-checked-client';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseResult {
  status: number;
  events: SseEvent[];
  /** Heartbeat and other comment lines seen. */
  comments: number;
  /** True when the server ended the stream (false when the reader stopped it). */
  closedByServer: boolean;
}

/**
 * Reads a text/event-stream over fetch, parsing frames as they arrive; the answer's status and
 * content type are checked against openapi.json. Stops when the server closes, or when
 * `stopAfter` says so (then it disconnects, as a browser tab closing would). `onEvent` sees each
 * event as it arrives, so a test can act at a given point of the stream.
 */
export async function readSse(
  url: string,
  options: {
    headers?: Record<string, string>;
    stopAfter?: (event: SseEvent, all: SseEvent[]) => boolean;
    onEvent?: (event: SseEvent) => void;
  } = {},
): Promise<SseResult> {
  const abort = new AbortController();
  const response = await specCheckedFetch(url, { headers: options.headers, signal: abort.signal });
  const result: SseResult = {
    status: response.status,
    events: [],
    comments: 0,
    closedByServer: false,
  };
  if (!response.ok || !response.body) return result;
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        result.closedByServer = true;
        return result;
      }
      buffer += decoder.decode(value as Uint8Array, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (!event) {
          result.comments += 1;
          continue;
        }
        result.events.push(event);
        options.onEvent?.(event);
        if (options.stopAfter?.(event, result.events)) {
          abort.abort();
          return result;
        }
      }
    }
  } catch (error) {
    if (abort.signal.aborted) return result;
    throw error;
  }
}

function parseBlock(block: string): SseEvent | null {
  const event: SseEvent = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
    else if (field === 'data') data.push(value);
  }
  if (event.id === undefined && data.length === 0) return null;
  event.data = data.join('\n');
  return event;
}

/** The events' ids and types, and the fields of the final `end` frame. */
export function outline(events: SseEvent[]) {
  const end = events.at(-1);
  return {
    events: events.slice(0, -1).map((event) => `${event.id} ${event.event}`),
    end: end?.event === 'end' ? (JSON.parse(end.data) as Record<string, unknown>) : end,
  };
}
