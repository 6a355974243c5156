import type { components } from './schema.js';
import { trimSlash } from './url.js';

/** One event of a run's stream: a message of the run, or the final `end`. */
export type ExecutionEvent =
  | { id: number; type: ExecutionMessageType; message: ExecutionMessage }
  | { id: null; type: 'end'; end: ExecutionEnd };

/**
 * The Agent SDK's message types (the CLI's stream-json line types), and the run's own asks of a
 * person (`approval_request`, `question_request`) and their ends (`*_resolved`).
 */
export type ExecutionMessageType =
  | 'system'
  | 'assistant'
  | 'user'
  | 'result'
  | 'stream_event'
  | 'tool_progress'
  | 'approval_request'
  | 'approval_resolved'
  | 'question_request'
  | 'question_resolved'
  | (string & {});

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

/** An approval the run waits on (its `approval_request` event): tool, input, suggestions. */
export type ApprovalRequest = components['schemas']['PendingApprovalDto'];
/** allow or deny, optionally with edited input, a message, or `scope: 'session'`. */
export type ApprovalAnswer = components['schemas']['AnswerApprovalDto'];
/** The model's questions the run waits on (its `question_request` event), with their options. */
export type QuestionRequest = components['schemas']['PendingQuestionDto'];
/** One answer per question, in order: option labels in `selected`, and/or free `text`. */
export type QuestionAnswers = components['schemas']['AnswerQuestionDto'];

/** Given to an ask's handler: `signal` aborts once the ask no longer waits for it. */
export interface AskContext {
  /** Aborted when the ask was answered elsewhere, timed out, or the run (or the stream) ended. */
  signal: AbortSignal;
}

/** Where answers go: the service and the API token (an events token cannot answer). */
export interface AnswerOptions {
  baseUrl: string;
  token?: string;
  fetch?: typeof globalThis.fetch;
}

/** Typed handlers for what a run asks a person; what they return is posted as the answer. */
export interface AskHandlers {
  /**
   * Answers each approval the run asks (a run submitted with `approvals: true`): what it returns
   * is posted with `answerApproval`. It runs beside the stream, which goes on meanwhile. A stream
   * read from the start replays asks already answered: their handler's signal aborts as soon as
   * their `approval_resolved` event follows, and nothing is posted for them.
   */
  onApproval?: (
    ask: ApprovalRequest,
    context: AskContext,
  ) => ApprovalAnswer | Promise<ApprovalAnswer>;
  /** Answers each of the model's question requests, as `onApproval` does approvals. */
  onQuestion?: (
    ask: QuestionRequest,
    context: AskContext,
  ) => QuestionAnswers | Promise<QuestionAnswers>;
}

export interface StreamExecutionOptions extends AnswerOptions, AskHandlers {
  /** The API token, or omit it and pass the run's `eventsToken`. */
  token?: string;
  eventsToken?: string;
  /** Resume after this event id (what `Last-Event-ID` does). */
  lastEventId?: number;
  signal?: AbortSignal;
  /**
   * Told when a handler throws or its answer is refused (e.g. 409 once the ask timed out). The ask
   * is then left to its timeout, after which it is denied.
   */
  onAnswerError?: (error: unknown) => void;
}

/** A refused answer (or other call): the HTTP status and the service's stable error code. */
export class ClaudeCodeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ClaudeCodeApiError';
  }
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
  const asks = new AskAnswerer(id, options);
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const event = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event) continue;
        asks.see(event);
        yield event;
        if (event.type === 'end') return;
      }
    }
  } finally {
    asks.stopAll();
  }
}

/** Answers a pending approval (`POST /api/executions/{id}/approvals/{requestId}`). */
export function answerApproval(
  options: AnswerOptions,
  id: string,
  requestId: string,
  answer: ApprovalAnswer,
): Promise<void> {
  return postAnswer(options, id, `approvals/${encodeURIComponent(requestId)}`, answer);
}

/** Answers pending questions (`POST /api/executions/{id}/questions/{requestId}`). */
export function answerQuestion(
  options: AnswerOptions,
  id: string,
  requestId: string,
  answers: QuestionAnswers,
): Promise<void> {
  return postAnswer(options, id, `questions/${encodeURIComponent(requestId)}`, answers);
}

async function postAnswer(
  options: AnswerOptions,
  id: string,
  path: string,
  body: object,
): Promise<void> {
  const url = `${trimSlash(options.baseUrl)}/api/executions/${encodeURIComponent(id)}/${path}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await (options.fetch ?? fetch)(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  if (response.ok) return;
  const error = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
  throw new ClaudeCodeApiError(
    error.message ?? `HTTP ${response.status}`,
    response.status,
    error.code,
  );
}

/**
 * Hands each ask of the stream to its handler and posts the answer. An ask's handler is told,
 * through its signal, when the ask no longer waits (its `*_resolved` event, or the stream's end),
 * and its late answer is then not posted.
 */
class AskAnswerer {
  private readonly waiting = new Map<string, AbortController>();

  constructor(
    private readonly id: string,
    private readonly options: StreamExecutionOptions,
  ) {}

  see(event: ExecutionEvent): void {
    if ('end' in event) return;
    const ask = event.message as unknown as { requestId: string };
    const { onApproval, onQuestion } = this.options;
    if (event.type === 'approval_request' && onApproval) {
      this.handle(
        ask.requestId,
        (context) => onApproval(ask as ApprovalRequest, context),
        (answer) => answerApproval(this.options, this.id, ask.requestId, answer),
      );
    } else if (event.type === 'question_request' && onQuestion) {
      this.handle(
        ask.requestId,
        (context) => onQuestion(ask as QuestionRequest, context),
        (answers) => answerQuestion(this.options, this.id, ask.requestId, answers),
      );
    } else if (event.type === 'approval_resolved' || event.type === 'question_resolved') {
      this.stop(ask.requestId);
    }
  }

  stopAll(): void {
    for (const requestId of [...this.waiting.keys()]) this.stop(requestId);
  }

  private handle<A>(
    requestId: string,
    decide: (context: AskContext) => A | Promise<A>,
    post: (answer: A) => Promise<void>,
  ): void {
    if (this.waiting.has(requestId)) return;
    const stopped = new AbortController();
    this.waiting.set(requestId, stopped);
    const run = async () => {
      const answer = await decide({ signal: stopped.signal });
      if (!stopped.signal.aborted) await post(answer);
    };
    run()
      .catch((error: unknown) => {
        if (!stopped.signal.aborted) this.options.onAnswerError?.(error);
      })
      .finally(() => this.waiting.delete(requestId));
  }

  private stop(requestId: string): void {
    this.waiting.get(requestId)?.abort();
    this.waiting.delete(requestId);
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
