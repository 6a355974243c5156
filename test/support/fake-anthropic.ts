/**
 * A fake Anthropic Messages API for e2e tests and benchmarks: the real Claude Code CLI (in the
 * agent container, `--network host`) is pointed at it with ANTHROPIC_BASE_URL.
 *
 * Only Node built-ins. It answers:
 *   POST /v1/messages               streaming (SSE) or non-streaming JSON, per `stream`
 *   POST /v1/messages/count_tokens  a rough estimate
 *   anything else                   404 JSON error, recorded in `unexpected`
 * Query strings (the CLI sends `?beta=true`) are ignored.
 *
 * Replies to the *main conversation* calls are scriptable (`enqueue` and the `reply*` helpers);
 * anything not scripted gets the default reply: `echo: <last user text>`, or
 * `tool_result: <content>` when the last user turn carries a tool result. A call that offers the
 * StructuredOutput tool (a run with `outputSchema`) whose prompt says
 * `structured_output: <JSON>` (see `structuredOutputPrompt`) is answered by calling that tool with
 * the JSON, every time the CLI asks again. Side calls (compaction,
 * and in other modes title/topic checks) never consume scripted replies, see
 * `isMainConversationCall`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Request shapes (only the parts the fake reads).

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | TextBlock[];
  is_error?: boolean;
}

export interface OtherBlock {
  type: string;
  [key: string]: unknown;
}

export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | OtherBlock;

export interface Message {
  /** 2.1.x also sends `system` turns (environment context) inside `messages`. */
  role: 'user' | 'assistant' | 'system';
  content: string | ContentBlock[];
}

export interface MessagesRequest {
  model: string;
  messages: Message[];
  system?: string | TextBlock[];
  tools?: { name: string; [key: string]: unknown }[];
  stream?: boolean;
  max_tokens?: number;
  [key: string]: unknown;
}

export interface RecordedRequest {
  /** Sequence number over all recorded /v1/messages calls, from 0. */
  seq: number;
  /** Path without the query string. */
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: MessagesRequest;
  /** Whether it was classified as a main-conversation call (see isMainConversationCall). */
  main: boolean;
  /** Kind of reply that was sent. */
  replied: Reply['kind'] | 'default';
  receivedAt: number;
}

export interface UnexpectedRequest {
  method: string;
  url: string;
  body: string;
}

// ---------------------------------------------------------------------------------------------
// Scripted replies.

export interface Timing {
  /** Delay before the response starts (headers not sent yet), ms. */
  delayMs?: number;
  /** Delay between streamed chunks (SSE text/JSON deltas), ms. */
  chunkDelayMs?: number;
  /** Characters per streamed text delta (default 16 KiB; tool input JSON: 64 KiB). */
  chunkSize?: number;
}

export interface TextReply extends Timing {
  kind: 'text';
  /** Text to answer; default: the default reply for the request. */
  text?: string;
  /** Answer only once this resolves (in-process only: see `replyHeld`). */
  until?: Promise<void>;
}

export interface ToolUseReply extends Timing {
  kind: 'tool_use';
  /** Tool name, e.g. 'Bash'. */
  name: string;
  input: Record<string, unknown>;
  /** Optional text block before the tool_use block. */
  preamble?: string;
}

export interface ErrorReply extends Timing {
  kind: 'error';
  /**
   * 'http': a non-2xx response with an error JSON body (before any SSE).
   * 'sse': a 200 SSE stream that starts a message and then sends an `error` event; the CLI then
   * retries once without streaming, which gets the 'http' form (so use times >= 2 or -1).
   */
  mode?: 'http' | 'sse';
  /** HTTP status for mode 'http'; default 500. 529 = overloaded. */
  status?: number;
  errorType?: string;
  message?: string;
  /**
   * How many main calls this error answers before the next scripted reply is used (the CLI retries
   * 5xx/529/overloaded). Default 1; Infinity (or -1, for JSON) means "until `clear()`".
   */
  times?: number;
  /** Send `x-should-retry: false` (the SDK then does not retry). Default true. */
  noRetryHeader?: boolean;
}

/** Accepts the request and never answers (until the client goes away or the fake closes). */
export interface HangReply {
  kind: 'hang';
  /** Send the SSE headers and message_start first, then hang. Default true. */
  startStream?: boolean;
}

export type Reply = TextReply | ToolUseReply | ErrorReply | HangReply;

export interface FakeAnthropic {
  /** Base URL for ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly port: number;
  /** All POST /v1/messages calls, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Only the main-conversation calls. */
  readonly mainRequests: RecordedRequest[];
  /** POST /v1/messages/count_tokens bodies. */
  readonly countTokensRequests: unknown[];
  /** Requests to paths the fake does not implement. */
  readonly unexpected: UnexpectedRequest[];
  /** Queue replies for the next main-conversation calls, in order. */
  enqueue(...replies: Reply[]): void;
  /** Scripted replies not yet used. */
  pending(): number;
  /** Drop queued replies and recorded requests. */
  clear(): void;
  replyText(text: string, timing?: Timing): void;
  /** A text reply of `bytes` characters (see bigText), streamed in chunks. */
  replyBig(bytes?: number, timing?: Timing): void;
  /** A slow text reply: waits `delayMs` before answering and `chunkDelayMs` between chunks. */
  replySlow(text: string, timing: Timing): void;
  replyError(options?: Omit<ErrorReply, 'kind'>): void;
  /**
   * A Bash tool call, then (after the CLI sends the tool_result) a text reply: `finalText`, or
   * by default `tool_result: <the command's output>`.
   */
  /**
   * A text reply held until the returned function is called, so a turn stays busy as long as a
   * test needs (a client that goes away meanwhile ends it).
   */
  replyHeld(text: string): () => void;
  replyBashTool(command: string, finalText?: string): void;
  /** A call of tool `name` with `input`, then a text reply as for replyBashTool. */
  replyTool(name: string, input: Record<string, unknown>, finalText?: string): void;
  /** Resolves when `count` main calls have been received (or rejects after timeoutMs). */
  waitForMainRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export interface FakeAnthropicOptions {
  port?: number;
  host?: string;
  /** Called for each request (for the standalone runner's logging). */
  onRequest?: (method: string, url: string, note: string) => void;
  /**
   * Serve control endpoints for driving a fake in another process (standalone runner):
   *   POST /_fake/enqueue   body: a Reply or Reply[]
   *   POST /_fake/clear
   *   GET  /_fake/requests  recorded calls as JSON
   */
  control?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Helpers usable by tests.

/** Deterministic filler text of exactly `bytes` ASCII characters (what replyBig sends). */
export function bigText(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let line = 0; size < bytes; line++) {
    const s = `line ${String(line).padStart(6, '0')} the quick brown fox jumps over the lazy dog\n`;
    parts.push(s);
    size += s.length;
  }
  return parts.join('').slice(0, bytes);
}

/** Concatenated text of a message's content (text blocks and tool_result contents). */
export function messageText(message: Message | undefined): string {
  if (!message) return '';
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((block) => {
      if (isTextBlock(block)) return block.text;
      if (isToolResultBlock(block)) return toolResultText(block);
      return '';
    })
    .join('');
}

/**
 * The text of the last user turn, skipping the blocks the CLI injects itself (`<system-reminder>`
 * and similar tag-wrapped context), so `echo:` shows what the user typed.
 */
export function lastUserText(body: MessagesRequest): string {
  const last = [...body.messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content.trim();
  const texts = last.content.filter(isTextBlock).map((b) => b.text.trim());
  const typed = texts.filter((t) => !/^<[a-z-]+>[\s\S]*<\/[a-z-]+>$/.test(t));
  return (typed.length > 0 ? typed[typed.length - 1] : (texts[texts.length - 1] ?? '')).trim();
}

/** The tool_result blocks of the last user turn. */
export function lastToolResults(body: MessagesRequest): ToolResultBlock[] {
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== 'user' || typeof last.content === 'string') return [];
  return last.content.filter(isToolResultBlock);
}

/** The tool the CLI offers the model for its answer when a run asks for structured output. */
export const STRUCTURED_OUTPUT_TOOL = 'StructuredOutput';
const STRUCTURED_OUTPUT_MARKER = 'structured_output:';

/**
 * A prompt that makes the fake answer a structured-output run by calling the answer tool with
 * `input`, conforming to the run's schema or not (the CLI then asks again, and gets it again).
 */
export function structuredOutputPrompt(input: unknown): string {
  return `Answer with the object. ${STRUCTURED_OUTPUT_MARKER} ${JSON.stringify(input)}`;
}

/**
 * What the fake calls the answer tool with when nothing is scripted: the JSON after the marker
 * in the latest user text that has one, when the call offers the tool; otherwise undefined.
 */
export function structuredOutputInput(body: MessagesRequest): Record<string, unknown> | undefined {
  if (!body.tools?.some((tool) => tool.name === STRUCTURED_OUTPUT_TOOL)) return undefined;
  for (const message of [...body.messages].reverse()) {
    if (message.role !== 'user') continue;
    // Block by block: the CLI adds blocks of its own after the prompt.
    const texts =
      typeof message.content === 'string'
        ? [message.content]
        : message.content.filter(isTextBlock).map((block) => block.text);
    const text = texts.reverse().find((candidate) => candidate.includes(STRUCTURED_OUTPUT_MARKER));
    if (text === undefined) continue;
    const json = text.slice(
      text.lastIndexOf(STRUCTURED_OUTPUT_MARKER) + STRUCTURED_OUTPUT_MARKER.length,
    );
    const parsed: unknown = JSON.parse(json);
    return isRecord(parsed) ? parsed : { value: parsed };
  }
  return undefined;
}

/** The reply the fake gives when nothing is scripted. */
export function defaultReplyText(body: MessagesRequest): string {
  if (isCompactionCall(body)) {
    return '<summary>Fake summary: the user and the assistant exchanged test messages.</summary>';
  }
  const results = lastToolResults(body);
  if (results.length > 0) return `tool_result: ${results.map(toolResultText).join('\n')}`;
  return `echo: ${lastUserText(body)}`;
}

/**
 * Main-conversation calls vs the CLI's side calls, from what Claude Code 2.1.332 actually sends
 * (`claude -p`, DISABLE_TELEMETRY=1, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1):
 *  - every turn of the conversation (including the turn after a tool_result, and the
 *    non-streaming retry of a failed stream) offers the tool list (`tools`: Agent, Bash, Edit, ...)
 *    and the long system prompt; one call per model turn;
 *  - side calls (title/topic detection, quota probes, ... in other modes; none were seen in
 *    `-p` mode with the env above) have no tools;
 *  - compaction (`/compact`, auto-compact) resends the tools too, but its last user turn is the
 *    summary instruction, a plain string starting `CRITICAL: Respond with TEXT ONLY`.
 * Subagent (Agent tool) turns also offer tools and count as main.
 */
export function isMainConversationCall(body: MessagesRequest): boolean {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return false;
  return !isCompactionCall(body);
}

/** A compaction (summary) request: see isMainConversationCall. */
export function isCompactionCall(body: MessagesRequest): boolean {
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== 'user') return false;
  const text = messageText(last);
  return (
    text.startsWith('CRITICAL: Respond with TEXT ONLY') ||
    text.includes('Your task is to create a detailed summary of the conversation')
  );
}

function isTextBlock(block: ContentBlock): block is TextBlock {
  return block.type === 'text' && typeof (block as { text?: unknown }).text === 'string';
}

function isToolResultBlock(block: ContentBlock): block is ToolResultBlock {
  return block.type === 'tool_result';
}

function toolResultText(block: ToolResultBlock): string {
  if (typeof block.content === 'string') return block.content;
  if (Array.isArray(block.content)) return block.content.map((b) => b.text ?? '').join('');
  return '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMessagesRequest(raw: string): MessagesRequest | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return 'body is not valid JSON';
  }
  if (!isRecord(parsed)) return 'body must be a JSON object';
  if (typeof parsed.model !== 'string') return 'model: Field required';
  if (!Array.isArray(parsed.messages)) return 'messages: Field required';
  return parsed as MessagesRequest;
}

let idCounter = 0;
function newId(prefix: string): string {
  idCounter += 1;
  return `${prefix}_fake${Date.now().toString(36)}${idCounter.toString().padStart(6, '0')}`;
}

function estimateTokens(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

function chunks(text: string, size: number): string[] {
  if (text.length === 0) return [''];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server.

export async function startFakeAnthropic(
  options: FakeAnthropicOptions = {},
): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const countTokensRequests: unknown[] = [];
  const unexpected: UnexpectedRequest[] = [];
  const queue: Reply[] = [];
  /** Remaining uses of the error at the head of the queue. */
  let headErrorUses = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters: { count: number; resolve: () => void }[] = [];
  let closed = false;

  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.add(t);
        });

  const note = (method: string, url: string, text: string): void =>
    options.onRequest?.(method, url, text);

  function takeReply(main: boolean): Reply | undefined {
    if (!main) return undefined;
    const head = queue[0];
    if (!head) return undefined;
    if (head.kind === 'error') {
      if (headErrorUses === 0) {
        const times = head.times ?? 1;
        headErrorUses = times < 0 ? Number.POSITIVE_INFINITY : times;
      }
      headErrorUses -= 1;
      if (headErrorUses <= 0) {
        headErrorUses = 0;
        queue.shift();
      }
      return head;
    }
    return queue.shift();
  }

  function notifyWaiters(): void {
    const mainCount = requests.filter((r) => r.main).length;
    for (const w of [...waiters]) {
      if (mainCount >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    payload: unknown,
    headers: Record<string, string> = {},
  ): void {
    const body = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'request-id': newId('req'),
      ...headers,
    });
    res.end(body);
  }

  function errorPayload(type: string, message: string): unknown {
    return { type: 'error', error: { type, message } };
  }

  /** Content blocks of an assistant message for a non-error reply. */
  function replyBlocks(
    reply: TextReply | ToolUseReply | undefined,
    body: MessagesRequest,
  ): ContentBlock[] {
    if (reply?.kind === 'tool_use') {
      const blocks: ContentBlock[] = [];
      if (reply.preamble) blocks.push({ type: 'text', text: reply.preamble });
      blocks.push({ type: 'tool_use', id: newId('toolu'), name: reply.name, input: reply.input });
      return blocks;
    }
    const structured = reply ? undefined : structuredOutputInput(body);
    if (structured) {
      return [
        { type: 'tool_use', id: newId('toolu'), name: STRUCTURED_OUTPUT_TOOL, input: structured },
      ];
    }
    return [{ type: 'text', text: reply?.text ?? defaultReplyText(body) }];
  }

  /** SSE response headers and the `message_start` event. */
  function startSse(res: ServerResponse, body: MessagesRequest): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'request-id': newId('req'),
    });
    const message = {
      id: newId('msg'),
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: estimateTokens(body.messages),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 1,
      },
    };
    res.write(
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`,
    );
  }

  async function streamMessage(
    res: ServerResponse,
    body: MessagesRequest,
    blocks: ContentBlock[],
    timing: Timing,
  ): Promise<void> {
    const alive = (): boolean => !closed && !res.destroyed && !res.writableEnded;
    const event = (name: string, data: unknown): void => {
      if (alive()) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    const outputText = JSON.stringify(blocks);
    startSse(res, body);
    event('ping', { type: 'ping' });
    for (const [index, block] of blocks.entries()) {
      if (block.type === 'tool_use') {
        const tool = block as ToolUseBlock;
        event('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: tool.id, name: tool.name, input: {} },
        });
        for (const part of chunks(JSON.stringify(tool.input), timing.chunkSize ?? 1 << 16)) {
          await sleep(timing.chunkDelayMs ?? 0);
          if (!alive()) return;
          event('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json: part },
          });
        }
      } else {
        const text = (block as TextBlock).text;
        event('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'text', text: '' },
        });
        for (const part of chunks(text, timing.chunkSize ?? 1 << 14)) {
          await sleep(timing.chunkDelayMs ?? 0);
          if (!alive()) return;
          event('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'text_delta', text: part },
          });
        }
      }
      event('content_block_stop', { type: 'content_block_stop', index });
    }
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: estimateTokens(outputText) },
    });
    event('message_stop', { type: 'message_stop' });
    if (alive()) res.end();
  }

  async function handleMessages(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
    raw: string,
  ): Promise<void> {
    const parsed = parseMessagesRequest(raw);
    if (typeof parsed === 'string') {
      sendJson(res, 400, errorPayload('invalid_request_error', parsed));
      return;
    }
    const body = parsed;
    const main = isMainConversationCall(body);
    const reply = takeReply(main);
    const record: RecordedRequest = {
      seq: requests.length,
      path,
      query,
      headers: req.headers,
      body,
      main,
      replied: reply?.kind ?? 'default',
      receivedAt: Date.now(),
    };
    requests.push(record);
    notifyWaiters();
    note(
      req.method ?? '',
      req.url ?? '',
      `${main ? 'main' : 'side'} model=${body.model} stream=${String(body.stream === true)} msgs=${body.messages.length} tools=${body.tools?.length ?? 0} -> ${record.replied}`,
    );

    if (reply && 'delayMs' in reply) await sleep(reply.delayMs ?? 0);
    if (reply?.kind === 'text' && reply.until) {
      await Promise.race([reply.until, new Promise((resolve) => res.once('close', resolve))]);
    }
    if (closed || res.destroyed) return;

    if (reply?.kind === 'hang') {
      if (reply.startStream ?? true) startSse(res, body);
      return; // until the client disconnects or close() destroys the socket
    }

    if (reply?.kind === 'error') {
      const status = reply.status ?? 500;
      const type =
        reply.errorType ??
        (status === 529
          ? 'overloaded_error'
          : status === 400
            ? 'invalid_request_error'
            : 'api_error');
      const message = reply.message ?? `fake upstream error (${status})`;
      // A non-streaming call (the CLI retries a failed stream that way) gets the HTTP form.
      if ((reply.mode ?? 'http') === 'http' || body.stream !== true) {
        sendJson(
          res,
          status,
          errorPayload(type, message),
          (reply.noRetryHeader ?? true) ? { 'x-should-retry': 'false' } : {},
        );
        return;
      }
      startSse(res, body);
      res.end(`event: error\ndata: ${JSON.stringify(errorPayload(type, message))}\n\n`);
      return;
    }

    const blocks = replyBlocks(reply, body);
    if (body.stream === true) {
      await streamMessage(res, body, blocks, reply ?? {});
      return;
    }
    sendJson(res, 200, {
      id: newId('msg'),
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: blocks,
      stop_reason: blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: estimateTokens(body.messages),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: estimateTokens(blocks),
      },
    });
  }

  function handleControl(res: ServerResponse, method: string, path: string, raw: string): void {
    if (method === 'POST' && path === '/_fake/enqueue') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        sendJson(res, 400, errorPayload('invalid_request_error', 'body is not valid JSON'));
        return;
      }
      const replies = (Array.isArray(parsed) ? parsed : [parsed]) as Reply[];
      queue.push(...replies);
      sendJson(res, 200, { pending: queue.length });
      return;
    }
    if (method === 'POST' && path === '/_fake/clear') {
      fake.clear();
      sendJson(res, 200, { ok: true });
      return;
    }
    if (method === 'GET' && path === '/_fake/requests') {
      sendJson(res, 200, { requests, countTokensRequests, unexpected, pending: queue.length });
      return;
    }
    sendJson(res, 404, errorPayload('not_found_error', `no control route ${method} ${path}`));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = (q >= 0 ? rawUrl.slice(0, q) : rawUrl).replace(/\/+$/, '') || '/';
    const query = q >= 0 ? rawUrl.slice(q + 1) : '';
    const bodyChunks: Buffer[] = [];
    for await (const chunk of req) bodyChunks.push(chunk as Buffer);
    const raw = Buffer.concat(bodyChunks).toString('utf8');
    const method = req.method ?? 'GET';

    if (method === 'POST' && path === '/v1/messages') {
      await handleMessages(req, res, path, query, raw);
      return;
    }
    if (method === 'POST' && path === '/v1/messages/count_tokens') {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // counted anyway
      }
      countTokensRequests.push(parsed);
      note(method, rawUrl, 'count_tokens');
      sendJson(res, 200, { input_tokens: estimateTokens(parsed) });
      return;
    }
    if (options.control && path.startsWith('/_fake/')) {
      handleControl(res, method, path, raw);
      return;
    }
    if (method === 'HEAD' || (method === 'GET' && path === '/')) {
      note(method, rawUrl, 'root');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(method === 'HEAD' ? undefined : 'fake anthropic\n');
      return;
    }
    unexpected.push({ method, url: rawUrl, body: raw.slice(0, 4096) });
    note(method, rawUrl, 'unexpected -> 404');
    sendJson(
      res,
      404,
      errorPayload('not_found_error', `fake anthropic: no route for ${method} ${path}`),
    );
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorPayload('api_error', String(error)));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';

  const fake: FakeAnthropic = {
    url: `http://${host}:${address.port}`,
    port: address.port,
    requests,
    get mainRequests(): RecordedRequest[] {
      return requests.filter((r) => r.main);
    },
    countTokensRequests,
    unexpected,
    enqueue(...replies: Reply[]): void {
      queue.push(...replies);
    },
    pending(): number {
      return queue.length;
    },
    clear(): void {
      queue.length = 0;
      headErrorUses = 0;
      requests.length = 0;
      countTokensRequests.length = 0;
      unexpected.length = 0;
    },
    replyText(text: string, timing: Timing = {}): void {
      queue.push({ kind: 'text', text, ...timing });
    },
    replyBig(bytes = 1 << 20, timing: Timing = {}): void {
      queue.push({ kind: 'text', text: bigText(bytes), chunkSize: 1 << 14, ...timing });
    },
    replySlow(text: string, timing: Timing): void {
      queue.push({
        kind: 'text',
        text,
        chunkSize: Math.max(1, Math.ceil(text.length / 10)),
        ...timing,
      });
    },
    replyError(opts: Omit<ErrorReply, 'kind'> = {}): void {
      queue.push({ kind: 'error', ...opts });
    },
    replyHeld(text: string): () => void {
      let release: () => void = () => undefined;
      const until = new Promise<void>((resolve) => (release = resolve));
      queue.push({ kind: 'text', text, until });
      return release;
    },
    replyBashTool(command: string, finalText?: string): void {
      const input = { command, description: 'Run the command the test asked for' };
      fake.replyTool('Bash', input, finalText);
    },
    replyTool(name: string, input: Record<string, unknown>, finalText?: string): void {
      queue.push(
        { kind: 'tool_use', name, input },
        finalText === undefined ? { kind: 'text' } : { kind: 'text', text: finalText },
      );
    },
    waitForMainRequests(count: number, timeoutMs = 30_000): Promise<RecordedRequest[]> {
      return new Promise((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          resolve(requests.filter((r) => r.main));
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(
            new Error(`fake anthropic: ${count} main calls not received within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        const waiter = { count, resolve: done };
        waiters.push(waiter);
        notifyWaiters();
      });
    },
    close(): Promise<void> {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
