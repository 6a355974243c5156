/**
 * LifeOS's Claude Code service layer: one set of functions for both of LifeOS's shells.
 *
 * - In the desktop app (`window.__TAURI__` present) every call is a Tauri `invoke` of the
 *   desktop's own commands, which `docker exec` into the local agent containers.
 * - On the web (Vercel) every call goes to claudecode-api through its generated client; call
 *   `configureClaudeCode({ baseUrl, token })` once at start-up.
 *
 * Both modes return the same shapes (`ClaudeCodeResult`, `ContainerStatus`, `ConversationThread`)
 * and throw `ClaudeCodeError` when a call cannot be made. A prompt that runs but fails is not an
 * exception: it is a result with `success: false`.
 */
import {
  answerApproval as postApprovalAnswer,
  answerQuestion as postQuestionAnswers,
  createClaudeCodeClient,
  streamExecution as followExecutionEvents,
  type ApprovalAnswer,
  type ApprovalRequest,
  type AskContext,
  type AskHandlers,
  type ClaudeCodeClient,
  type ClaudeCodeClientOptions,
  type components,
  type ExecutionMessage,
  type QuestionAnswers,
  type QuestionRequest,
} from '@lifeos/claudecode-api-client';

export type {
  ApprovalAnswer,
  ApprovalRequest,
  AskContext,
  AskHandlers,
  QuestionAnswers,
  QuestionRequest,
};

/** The result of one prompt, as both the desktop app and claudecode-api report it. */
export interface ClaudeCodeResult {
  success: boolean;
  /** Claude's answer text. */
  output?: string;
  /** What went wrong, when `success` is false (or what the CLI wrote to stderr). */
  error?: string;
  /** With `jsonOutput: true`: the CLI's result object as JSON text. */
  json_output?: string;
}

export interface ContainerStatus {
  /** The container's name, e.g. `claude-agent-dev`. */
  name: string;
  exists: boolean;
  running: boolean;
}

/** One conversation (a Claude Code session) of an environment. */
export interface ConversationThread {
  id: string;
  environment: string;
  title: string;
  /** ISO 8601 times. */
  created_at: string;
  updated_at: string;
}

export interface ExecuteOptions {
  /** Also return the CLI's result object in `json_output`. */
  jsonOutput?: boolean;
  /** Continue this session; without it, the prompt starts a new one. */
  sessionId?: string;
}

/**
 * `onApproval` and `onQuestion` (web only) submit the run with approvals and answer what it asks
 * (e.g. "Claude wants to run `rm -rf build/`": allow, deny, allow for this session). An ask nobody
 * answers is denied after the service's APPROVAL_TIMEOUT_MS. The desktop app has no approvals:
 * there the prompt runs as the desktop runs every prompt, and neither is called.
 */
export interface StreamOptions extends ExecuteOptions, AskHandlers {
  /** Aborting cancels the run (web); the promise then resolves with `success: false`. */
  signal?: AbortSignal;
}

/** A message of a running prompt, as the CLI streams it (`system`, `assistant`, `result`…). */
export type ClaudeCodeMessage = ExecutionMessage;

export class ClaudeCodeError extends Error {
  constructor(
    message: string,
    /** claudecode-api's stable error code (e.g. `SESSION_BUSY`); absent in the desktop app. */
    readonly code?: string,
    /** The HTTP status on the web. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClaudeCodeError';
  }
}

/** claudecode-api's origin (e.g. `https://claudecode.example.com`), its token, and a `fetch`. */
export type ClaudeCodeWebConfig = ClaudeCodeClientOptions;

/**
 * The desktop app's Tauri commands. Its Rust handlers take snake_case arguments, which Tauri
 * fills from the camelCase keys passed to `invoke`.
 */
export const TAURI_COMMANDS = {
  getContainerStatus: 'get_container_status',
  startContainer: 'start_container',
  stopContainer: 'stop_container',
  executePrompt: 'execute_claude_prompt',
  createSession: 'create_claude_session',
  listSessions: 'list_claude_sessions',
  deleteSession: 'delete_claude_session',
} as const;

let web: { client: ClaudeCodeClient; config: ClaudeCodeWebConfig } | undefined;

/** Points the web mode at claudecode-api. The desktop app ignores it. */
export function configureClaudeCode(config: ClaudeCodeWebConfig): void {
  web = { client: createClaudeCodeClient(config), config: { ...config } };
}

export async function executePrompt(
  env: string,
  prompt: string,
  options: ExecuteOptions = {},
): Promise<ClaudeCodeResult> {
  return backend().executePrompt(env, prompt, options);
}

export async function getContainerStatus(env: string): Promise<ContainerStatus> {
  return backend().getContainerStatus(env);
}

export async function startContainer(env: string): Promise<void> {
  return backend().startContainer(env);
}

export async function stopContainer(env: string): Promise<void> {
  return backend().stopContainer(env);
}

/** Creates a session and returns its id; pass it as `sessionId` to continue the conversation. */
export async function createSession(env: string): Promise<string> {
  return backend().createSession(env);
}

/** The environment's sessions, newest first. */
export async function listSessions(env: string): Promise<ConversationThread[]> {
  return backend().listSessions(env);
}

export async function deleteSession(env: string, sessionId: string): Promise<void> {
  return backend().deleteSession(env, sessionId);
}

/**
 * Web only: answers an approval of a running prompt outside `onApproval` (a "needs attention"
 * list, say): its execution id and the ask's `requestId`.
 */
export async function answerApproval(
  executionId: string,
  requestId: string,
  answer: ApprovalAnswer,
): Promise<void> {
  return webOnly('answerApproval').answerApproval(executionId, requestId, answer);
}

/** Web only: answers the model's questions of a running prompt outside `onQuestion`. */
export async function answerQuestion(
  executionId: string,
  requestId: string,
  answers: QuestionAnswers,
): Promise<void> {
  return webOnly('answerQuestion').answerQuestion(executionId, requestId, answers);
}

/**
 * Web only: branches a thread. The new session keeps the history of `sessionId`, whole or up to
 * the message `upToMessageId` (a message's `uuid`), and its id is returned; the parent is left as
 * it is.
 */
export async function forkSession(
  env: string,
  sessionId: string,
  options: { upToMessageId?: string; title?: string } = {},
): Promise<string> {
  return webOnly('forkSession').forkSession(env, sessionId, options);
}

/**
 * Runs a prompt and hands each message to `onMessage` as it arrives, then resolves with the
 * result. The desktop app has no streaming command: there the CLI's `result` message is the one
 * message, delivered when the prompt finishes.
 */
export async function streamExecution(
  env: string,
  prompt: string,
  onMessage: (message: ClaudeCodeMessage) => void,
  options: StreamOptions = {},
): Promise<ClaudeCodeResult> {
  return backend().streamExecution(env, prompt, onMessage, options);
}

interface ClaudeCodeBackend {
  executePrompt(env: string, prompt: string, options: ExecuteOptions): Promise<ClaudeCodeResult>;
  getContainerStatus(env: string): Promise<ContainerStatus>;
  startContainer(env: string): Promise<void>;
  stopContainer(env: string): Promise<void>;
  createSession(env: string): Promise<string>;
  listSessions(env: string): Promise<ConversationThread[]>;
  deleteSession(env: string, sessionId: string): Promise<void>;
  streamExecution(
    env: string,
    prompt: string,
    onMessage: (message: ClaudeCodeMessage) => void,
    options: StreamOptions,
  ): Promise<ClaudeCodeResult>;
}

type TauriInvoke = (command: string, args?: Record<string, unknown>) => Promise<unknown>;

/** What `withGlobalTauri` puts on `window`: `core.invoke` in Tauri 2, `invoke` in Tauri 1. */
interface TauriGlobal {
  core?: { invoke: TauriInvoke };
  invoke?: TauriInvoke;
}

/** What only claudecode-api can do: the desktop app has no approvals, questions or forks. */
interface WebOnlyBackend {
  answerApproval(executionId: string, requestId: string, answer: ApprovalAnswer): Promise<void>;
  answerQuestion(executionId: string, requestId: string, answers: QuestionAnswers): Promise<void>;
  forkSession(
    env: string,
    sessionId: string,
    options: { upToMessageId?: string; title?: string },
  ): Promise<string>;
}

function webOnly(action: keyof WebOnlyBackend): WebOnlyBackend {
  const selected = backend();
  if (!(action in selected)) {
    throw new ClaudeCodeError(
      `${action} needs claudecode-api; the desktop app has no such command`,
    );
  }
  return selected as ClaudeCodeBackend & WebOnlyBackend;
}

// Decided per call, so the module can be imported before Tauri has injected its global. The
// exported functions are async, so a missing configuration is a rejection like any other error.
function backend(): ClaudeCodeBackend {
  const tauri = (globalThis as { __TAURI__?: TauriGlobal }).__TAURI__;
  if (tauri) {
    const invoke = tauri.core?.invoke ?? tauri.invoke;
    if (!invoke) throw new ClaudeCodeError('window.__TAURI__ has no invoke function');
    return tauriBackend(invoke);
  }
  if (!web) {
    throw new ClaudeCodeError('claudecode-api is not configured: call configureClaudeCode() first');
  }
  return webBackend(web.client, web.config);
}

// ---- The desktop app ------------------------------------------------------------------------

/** `ClaudeCodeResult` as the Rust struct serializes it: `Option::None` becomes null. */
interface DesktopResult {
  success: boolean;
  output: string | null;
  error: string | null;
  json_output: string | null;
}

interface DesktopThread {
  id: string;
  environment: string;
  title: string;
  /** Unix seconds as text (the transcript's mtime), or empty. */
  created_at: string;
  updated_at: string;
}

function tauriBackend(invoke: TauriInvoke): ClaudeCodeBackend {
  const call = async <T>(command: string, args: Record<string, unknown>): Promise<T> => {
    try {
      return (await invoke(command, args)) as T;
    } catch (error) {
      // Tauri rejects with the command's Err(String).
      throw new ClaudeCodeError(typeof error === 'string' ? error : String(error));
    }
  };
  const runPrompt = (env: string, prompt: string, options: ExecuteOptions) =>
    call<DesktopResult>(TAURI_COMMANDS.executePrompt, {
      env,
      prompt,
      jsonOutput: options.jsonOutput ?? false,
      sessionId: options.sessionId ?? null,
    });

  return {
    executePrompt: async (env, prompt, options) => {
      const desktop = await runPrompt(env, prompt, options);
      return fromDesktopResult(desktop, parseResultMessage(desktop.json_output), options);
    },
    getContainerStatus: async (env) => {
      return toContainerStatus(
        await call<ContainerStatus>(TAURI_COMMANDS.getContainerStatus, { env }),
      );
    },
    startContainer: (env) => call<void>(TAURI_COMMANDS.startContainer, { env }),
    stopContainer: (env) => call<void>(TAURI_COMMANDS.stopContainer, { env }),
    createSession: (env) => call<string>(TAURI_COMMANDS.createSession, { env }),
    listSessions: async (env) => {
      const threads = await call<DesktopThread[]>(TAURI_COMMANDS.listSessions, { env });
      return threads
        .map((thread) => ({
          id: thread.id,
          environment: thread.environment,
          title: thread.title,
          created_at: isoFromUnixSeconds(thread.created_at),
          updated_at: isoFromUnixSeconds(thread.updated_at),
        }))
        .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    },
    deleteSession: (env, sessionId) => call<void>(TAURI_COMMANDS.deleteSession, { env, sessionId }),
    streamExecution: async (env, prompt, onMessage, options) => {
      // JSON output carries the result message, the one message the desktop can hand over.
      const desktop = await runPrompt(env, prompt, { ...options, jsonOutput: true });
      const resultMessage = parseResultMessage(desktop.json_output);
      if (resultMessage) onMessage(resultMessage);
      return fromDesktopResult(desktop, resultMessage, options);
    },
  };
}

/**
 * The desktop puts the CLI's whole stdout in `output`, so with JSON output that is the JSON text;
 * the web gives the answer text. The answer text is what both modes return.
 */
function fromDesktopResult(
  desktop: DesktopResult,
  resultMessage: ClaudeCodeMessage | undefined,
  options: ExecuteOptions,
): ClaudeCodeResult {
  const output =
    resultMessage && typeof resultMessage.result === 'string'
      ? resultMessage.result
      : // The CLI ends its text answer with a newline, which the web's answer does not carry.
        desktop.output?.replace(/\n$/, '');
  return withoutEmpty({
    success: desktop.success,
    output,
    error: desktop.error,
    json_output: options.jsonOutput ? desktop.json_output : null,
  });
}

/** Only the fields both backends report (the web's status has more). */
function toContainerStatus(status: ContainerStatus): ContainerStatus {
  return { name: status.name, exists: status.exists, running: status.running };
}

function parseResultMessage(jsonText: string | null): ClaudeCodeMessage | undefined {
  if (!jsonText) return undefined;
  try {
    const parsed: unknown = JSON.parse(jsonText);
    const isResult =
      typeof parsed === 'object' &&
      parsed !== null &&
      (parsed as { type?: unknown }).type === 'result';
    return isResult ? (parsed as ClaudeCodeMessage) : undefined;
  } catch {
    return undefined;
  }
}

function isoFromUnixSeconds(text: string): string {
  return /^\d+$/.test(text) ? new Date(Number(text) * 1000).toISOString() : text;
}

// ---- claudecode-api -------------------------------------------------------------------------

/** An openapi-fetch answer: `data` on success, `error` (the error body) otherwise. */
interface ApiAnswer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

async function unwrap<T>(answer: Promise<ApiAnswer<T>>, action: string): Promise<T> {
  const { data, error, response } = await unreachableAsError(answer, action);
  if (response.ok) return data as T;
  // Absent when the body was not the service's (a proxy's error page, say).
  const body = (error ?? {}) as Partial<components['schemas']['ErrorResponseDto']>;
  throw new ClaudeCodeError(
    `${action} failed: ${body.message ?? `HTTP ${response.status}`}`,
    body.code,
    response.status,
  );
}

/** A request that got no answer at all (network down, DNS, CORS) fails as a ClaudeCodeError. */
async function unreachableAsError<T>(pending: Promise<T>, action: string): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    throw new ClaudeCodeError(`${action} failed: ${(error as Error).message}`);
  }
}

const SESSIONS_PAGE_SIZE = 100;

function webBackend(
  client: ClaudeCodeClient,
  config: ClaudeCodeWebConfig,
): ClaudeCodeBackend & WebOnlyBackend {
  const envPath = (env: string) => ({ params: { path: { env } } });
  const answered = async (action: string, answer: Promise<void>) => {
    try {
      await answer;
    } catch (error) {
      const refused = error as { message?: string; code?: string; status?: number };
      throw new ClaudeCodeError(
        `${action} failed: ${refused.message}`,
        refused.code,
        refused.status,
      );
    }
  };

  return {
    answerApproval: (executionId, requestId, answer) =>
      answered('answerApproval', postApprovalAnswer(config, executionId, requestId, answer)),
    answerQuestion: (executionId, requestId, answers) =>
      answered('answerQuestion', postQuestionAnswers(config, executionId, requestId, answers)),
    executePrompt: async (env, prompt, options) => {
      const result = await unwrap(
        client.POST('/api/execute', {
          body: { env, prompt, jsonOutput: options.jsonOutput, sessionId: options.sessionId },
        }),
        'executePrompt',
      );
      return withoutEmpty({
        success: result.success,
        output: result.output,
        error: result.error,
        json_output: result.json_output,
      });
    },
    getContainerStatus: async (env) => {
      return toContainerStatus(
        await unwrap(client.GET('/api/containers/{env}', envPath(env)), 'getContainerStatus'),
      );
    },
    startContainer: async (env) => {
      await unwrap(client.POST('/api/containers/{env}/start', envPath(env)), 'startContainer');
    },
    stopContainer: async (env) => {
      await unwrap(client.POST('/api/containers/{env}/stop', envPath(env)), 'stopContainer');
    },
    createSession: async (env) => {
      const created = await unwrap(
        client.POST('/api/sessions', { body: { env } }),
        'createSession',
      );
      return created.sessionId;
    },
    listSessions: async (env) => {
      const threads: ConversationThread[] = [];
      let cursor: string | undefined;
      do {
        const page = await unwrap(
          client.GET('/api/sessions/{env}', {
            params: { path: { env }, query: { limit: SESSIONS_PAGE_SIZE, cursor } },
          }),
          'listSessions',
        );
        for (const session of page.items) {
          threads.push({
            id: session.id,
            environment: env,
            // The desktop's fallback title, for sessions without a title or a first prompt.
            title: session.title ?? `Thread ${session.id.slice(0, 8)}`,
            created_at: session.createdAt,
            updated_at: session.updatedAt,
          });
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return threads;
    },
    deleteSession: async (env, sessionId) => {
      await unwrap(
        client.DELETE('/api/sessions/{env}/{id}', { params: { path: { env, id: sessionId } } }),
        'deleteSession',
      );
    },
    forkSession: async (env, sessionId, options) => {
      const fork = await unwrap(
        client.POST('/api/sessions/{env}/{id}/fork', {
          params: { path: { env, id: sessionId } },
          body: options,
        }),
        'forkSession',
      );
      return fork.id;
    },
    streamExecution: async (env, prompt, onMessage, options) => {
      const asks = options.onApproval !== undefined || options.onQuestion !== undefined;
      const run = await unwrap(
        client.POST('/api/executions', {
          body: { env, prompt, sessionId: options.sessionId, ...(asks ? { approvals: true } : {}) },
        }),
        'streamExecution',
      );
      const cancel = () => {
        // The stream then ends with the run cancelled; a run that already ended answers 409.
        void client.POST('/api/executions/{id}/cancel', { params: { path: { id: run.id } } });
      };
      options.signal?.addEventListener('abort', cancel, { once: true });
      let resultMessage: ClaudeCodeMessage | undefined;
      const follow = async () => {
        for await (const event of followExecutionEvents(run.id, {
          baseUrl: config.baseUrl,
          token: config.token,
          fetch: config.fetch,
          onApproval: options.onApproval,
          onQuestion: options.onQuestion,
        })) {
          if ('end' in event) break;
          if (event.type === 'result') resultMessage = event.message;
          onMessage(event.message);
        }
      };
      try {
        await unreachableAsError(follow(), 'streamExecution');
      } finally {
        options.signal?.removeEventListener('abort', cancel);
      }
      const finished = await unwrap(
        client.GET('/api/executions/{id}', { params: { path: { id: run.id } } }),
        'streamExecution',
      );
      return withoutEmpty({
        success: finished.status === 'succeeded',
        output: finished.result,
        error: finished.error,
        json_output:
          options.jsonOutput && resultMessage ? asPrintedByJsonFormat(resultMessage) : undefined,
      });
    },
  };
}

/**
 * The result message as `claude -p --output-format json` prints it, which is what
 * `POST /api/execute` returns in `json_output`: the stream-json mode adds one field.
 */
function asPrintedByJsonFormat(resultMessage: ClaudeCodeMessage): string {
  const { model_usage_since_last_result: _streamOnly, ...printed } = resultMessage;
  return JSON.stringify(printed);
}

/** Drops null and undefined fields, so both modes give the same keys for the same outcome. */
function withoutEmpty(result: {
  success: boolean;
  output?: string | null;
  error?: string | null;
  json_output?: string | null;
}): ClaudeCodeResult {
  const clean: ClaudeCodeResult = { success: result.success };
  if (result.output != null) clean.output = result.output;
  if (result.error != null) clean.error = result.error;
  if (result.json_output != null) clean.json_output = result.json_output;
  return clean;
}
