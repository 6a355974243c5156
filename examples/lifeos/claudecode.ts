/**
 * LifeOS's Claude Code service (`src/lib/services/claudecode.ts`), for both of LifeOS's shells.
 * It is a drop-in superset of the desktop-only original: the same exports, signatures and types,
 * and the same fallbacks where the original swallows a failure (status, prompt, sessions, Docker
 * check); what it adds comes as extra exports.
 *
 * - In the desktop app (`window.__TAURI__` present) each call invokes one of the desktop's ten
 *   Tauri commands, with the arguments the desktop's Rust expects.
 * - On the web each call goes to claudecode-api through its generated client. The service's origin
 *   is `VITE_CLAUDECODE_API_URL`; the token comes from LifeOS's token function
 *   (`VITE_CLAUDECODE_TOKEN_URL`, short-lived, refreshed before it expires), or, in local
 *   development only, from `VITE_CLAUDECODE_API_TOKEN`. `configureClaudeCode` overrides both.
 *
 * Both modes return the same shapes. Where the original swallows a failure, the failure is handed
 * to the error reporter (`console.error` unless `reportClaudeCodeErrorsTo` says otherwise); the
 * container actions (start, stop, create, remove) reject with a `ClaudeCodeError`, as the
 * original's reject.
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
  type components,
  type ExecutionMessage,
  type QuestionAnswers,
  type QuestionRequest,
} from '@lifeos/claudecode-api-client';
import { readViteEnv } from './claudecode-vite-env';

export type {
  ApprovalAnswer,
  ApprovalRequest,
  AskContext,
  AskHandlers,
  QuestionAnswers,
  QuestionRequest,
};

// ---- LifeOS's own types and exports -----------------------------------------------------------

export interface ContainerStatus {
  exists: boolean;
  running: boolean;
  /** The container's name, e.g. `claude-agent-dev`. */
  name: string;
}

/** The result of one prompt. A prompt that runs and fails is `success: false`, not an exception. */
export interface ClaudeCodeResult {
  success: boolean;
  /** Claude's answer text. */
  output?: string;
  /** What went wrong, when `success` is false (or what the CLI wrote to stderr). */
  error?: string;
  /** With `jsonOutput`: the CLI's result object as JSON text. */
  json_output?: string;
}

export type Environment = 'dev' | 'staging' | 'prod';

/** One conversation (a Claude Code session) of an environment. */
export interface ConversationThread {
  id: string;
  environment: Environment;
  title: string;
  createdAt: Date;
  updatedAt: Date;
  /** The transcript's messages on the web; 0 in the desktop app, which LifeOS counts itself. */
  messageCount: number;
}

/** A tool of LifeOS's MCP server, for the tab's tool list. */
export interface MCPTool {
  name: string;
  description: string;
  category: string;
}

/** The tools LifeOS's MCP server (`@starascendin/lifeos-mcp`) gives the agents, by category. */
const MCP_TOOL_TABLE: Record<string, [name: string, description: string][]> = {
  Projects: [
    ['get_projects', 'Projects with their issue counts and progress'],
    ['get_tasks', 'Tasks (issues), optionally filtered'],
    ['create_issue', 'Adds a task'],
    ['mark_issue_complete', 'Marks a task done'],
  ],
  Cycles: [
    ['get_current_cycle', 'The cycle (sprint) under way'],
    ['assign_issue_to_cycle', 'Puts a task in a cycle'],
  ],
  Agenda: [
    ['get_daily_agenda', "Today's tasks, events and priorities"],
    ['get_weekly_agenda', 'The agenda of the coming seven days'],
    ['get_todays_tasks', 'Tasks due or prioritised today'],
  ],
  Notes: [
    ['search_notes', 'Finds voice memos and notes by their text'],
    ['get_recent_notes', 'The latest voice memos and notes, transcribed'],
    ['create_quick_note', 'Writes a short text note'],
    ['add_tags_to_note', 'Tags a note'],
  ],
  People: [
    ['get_people', 'Contacts, optionally filtered'],
    ['get_person', "A contact's details and AI profile"],
    ['search_people', 'Finds contacts by name'],
    ['create_person', 'Adds a contact'],
    ['update_person', "Changes a contact's details"],
    ['get_memos_for_person', 'Voice memos linked to a contact'],
    ['get_person_timeline', 'Interactions with a contact over time'],
    ['link_memo_to_person', 'Links a voice memo to a contact'],
  ],
  Clients: [
    ['get_clients', 'Consulting and freelance clients'],
    ['get_client', "One client's details"],
    ['get_projects_for_client', "A client's projects"],
    ['create_client', 'Adds a client'],
    ['update_client', "Changes a client's details"],
  ],
  Phases: [
    ['get_phases', "A project's phases"],
    ['get_phase', 'One phase with its issues'],
    ['create_phase', 'Adds a phase to a project'],
    ['update_phase', "Changes a phase's details"],
    ['delete_phase', 'Removes a phase'],
    ['assign_issue_to_phase', 'Puts an issue in a phase'],
  ],
};

export const MCP_TOOLS: MCPTool[] = Object.entries(MCP_TOOL_TABLE).flatMap(([category, tools]) =>
  tools.map(([name, description]) => ({ name, description, category })),
);

/** `MCP_TOOLS` by category, in the list's order. */
export function getMCPToolsByCategory(): Record<string, MCPTool[]> {
  const byCategory: Record<string, MCPTool[]> = {};
  for (const tool of MCP_TOOLS) (byCategory[tool.category] ??= []).push(tool);
  return byCategory;
}

/** Docker answers (desktop: `docker info`; web: the service's readiness check). Never rejects. */
export async function checkDockerAvailable(): Promise<boolean> {
  return orFallback('check Docker availability', false, () => backend().checkDockerAvailable());
}

/** Never rejects: a failure reads as "no such container", as in the original. */
export async function getContainerStatus(env: Environment): Promise<ContainerStatus> {
  return orFallback('get container status', absentContainer(env), () =>
    backend().getContainerStatus(env),
  );
}

export async function startContainer(env: Environment): Promise<void> {
  return backend().startContainer(env);
}

export async function stopContainer(env: Environment): Promise<void> {
  return backend().stopContainer(env);
}

/**
 * Creates and starts the environment's container. On the web the path is not used: the service
 * applies the MCP config its operator set for the environment (MCP_CONFIG_<ENV>).
 */
export async function createContainer(env: Environment, mcpConfigPath: string): Promise<void> {
  return backend().createContainer(env, mcpConfigPath);
}

/** Stops and removes the environment's container; its sessions stay in their volume. */
export async function removeContainer(env: Environment): Promise<void> {
  return backend().removeContainer(env);
}

/**
 * Runs a prompt, continuing `sessionId` when given. Never rejects: a failure is
 * `{ success: false, error }`.
 */
export async function executePrompt(
  env: Environment,
  prompt: string,
  jsonOutput: boolean = false,
  sessionId?: string,
): Promise<ClaudeCodeResult> {
  try {
    return await backend().executePrompt(env, prompt, jsonOutput, sessionId || undefined);
  } catch (error) {
    reportError('execute Claude prompt', error);
    return { success: false, error: messageOf(error) };
  }
}

/** A new session's id, or null when it could not be created. */
export async function createSession(env: Environment): Promise<string | null> {
  return orFallback('create Claude session', null, () => backend().createSession(env));
}

/** The environment's sessions, newest first; [] when they could not be read. */
export async function listSessions(env: Environment): Promise<ConversationThread[]> {
  return orFallback('list Claude sessions', [], () => backend().listSessions(env));
}

/** Whether the session was deleted. */
export async function deleteSession(env: Environment, sessionId: string): Promise<boolean> {
  return orFallback('delete Claude session', false, async () => {
    await backend().deleteSession(env, sessionId);
    return true;
  });
}

// ---- Additions --------------------------------------------------------------------------------

/** A call that could not be made, with claudecode-api's stable code and HTTP status on the web. */
export class ClaudeCodeError extends Error {
  constructor(
    message: string,
    /** claudecode-api's error code (e.g. `SESSION_BUSY`); absent in the desktop app. */
    readonly code?: string,
    /** The HTTP status on the web. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClaudeCodeError';
  }
}

/** A token from LifeOS's token function: short-lived and scoped. */
export interface IssuedToken {
  token: string;
  /** ISO time. */
  expiresAt: string;
}

/** Gets a fresh token; called again shortly before the last one expires. */
export type TokenSource = () => Promise<IssuedToken>;

export interface ClaudeCodeWebConfig {
  /** claudecode-api's origin, e.g. `https://claudecode.example.com`. */
  baseUrl: string;
  /** A fixed token (local development), or where short-lived ones come from. */
  token: string | TokenSource;
  fetch?: typeof globalThis.fetch;
}

/**
 * Points the web mode at claudecode-api, overriding the Vite variables. The desktop app ignores
 * it. Call it with `undefined` to go back to the Vite variables.
 */
export function configureClaudeCode(config: ClaudeCodeWebConfig | undefined): void {
  configured = config;
  web = undefined;
}

/**
 * A `TokenSource` that asks LifeOS's token function (`VITE_CLAUDECODE_TOKEN_URL`) with a POST. It
 * sends the browser's cookies for the same origin; `headers` adds what your sign-in needs (e.g.
 * the session's bearer token).
 */
export function tokenFromFunction(
  url: string,
  options: {
    headers?: () => Record<string, string> | Promise<Record<string, string>>;
    fetch?: typeof globalThis.fetch;
  } = {},
): TokenSource {
  return async () => {
    const response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(await options.headers?.()) },
    });
    const body = (await response.json().catch(() => ({}))) as Partial<IssuedToken> & {
      message?: string;
    };
    if (!response.ok || typeof body.token !== 'string' || typeof body.expiresAt !== 'string') {
      throw new ClaudeCodeError(
        `the token function answered HTTP ${response.status}${body.message ? `: ${body.message}` : ''}`,
        undefined,
        response.status,
      );
    }
    return { token: body.token, expiresAt: body.expiresAt };
  };
}

/** Where swallowed failures go (the original logs them with `console.error`). */
export function reportClaudeCodeErrorsTo(reporter: (action: string, error: unknown) => void): void {
  errorReporter = reporter;
}

export interface ExecuteOptions {
  /** Also return the CLI's result object in `json_output`. */
  jsonOutput?: boolean;
  /** Continue this session; without it, the prompt starts a new one. */
  sessionId?: string;
}

/**
 * `onApproval` and `onQuestion` (web only) submit the run with approvals and answer what it asks.
 * An ask nobody answers is denied after the service's APPROVAL_TIMEOUT_MS. The desktop app has no
 * approvals: there neither is called.
 */
export interface StreamOptions extends ExecuteOptions, AskHandlers {
  /** Aborting cancels the run (web); the promise then resolves with `success: false`. */
  signal?: AbortSignal;
}

/** A message of a running prompt, as the CLI streams it (`system`, `assistant`, `result`…). */
export type ClaudeCodeMessage = ExecutionMessage;

/**
 * Runs a prompt and hands each message to `onMessage` as it arrives, then resolves with the
 * result. The desktop app has no streaming command: there the CLI's `result` message is the one
 * message, delivered when the prompt finishes. Rejects with a `ClaudeCodeError` when the prompt
 * cannot be submitted.
 */
export async function streamExecution(
  env: Environment,
  prompt: string,
  onMessage: (message: ClaudeCodeMessage) => void,
  options: StreamOptions = {},
): Promise<ClaudeCodeResult> {
  return backend().streamExecution(env, prompt, onMessage, options);
}

/** Web only: answers an approval of a running prompt outside `onApproval`. */
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
 * the message `upToMessageId`, and its id is returned; the parent is left as it is.
 */
export async function forkSession(
  env: Environment,
  sessionId: string,
  options: { upToMessageId?: string; title?: string } = {},
): Promise<string> {
  return webOnly('forkSession').forkSession(env, sessionId, options);
}

/** One of an environment's MCP servers as its agents see it (never its command, args or secrets). */
export type MCPServer = components['schemas']['McpServerDto'];

/**
 * Web only: the environment's MCP servers (the operator's `MCP_CONFIG_<ENV>`), connected or not,
 * with the tools each gives, as a running container's Claude Code reports them; `MCP_TOOLS` is
 * LifeOS's fixed list, this is what the agents have now. Rejects with a `ClaudeCodeError`
 * (`CONTAINER_NOT_RUNNING` while the container is stopped: a read never starts it).
 */
export async function getMCPServers(env: Environment): Promise<MCPServer[]> {
  return webOnly('getMCPServers').getMCPServers(env);
}

/**
 * The desktop app's Tauri commands. Its Rust handlers take snake_case parameters, which Tauri
 * fills from the camelCase keys passed to `invoke`.
 */
export const TAURI_COMMANDS = {
  checkDockerAvailable: 'check_docker_available',
  getContainerStatus: 'get_container_status',
  startContainer: 'start_container',
  stopContainer: 'stop_container',
  createContainer: 'create_container',
  removeContainer: 'remove_container',
  executePrompt: 'execute_claude_prompt',
  createSession: 'create_claude_session',
  listSessions: 'list_claude_sessions',
  deleteSession: 'delete_claude_session',
} as const;

// ---- Choosing the backend ---------------------------------------------------------------------

interface ClaudeCodeBackend {
  checkDockerAvailable(): Promise<boolean>;
  getContainerStatus(env: Environment): Promise<ContainerStatus>;
  startContainer(env: Environment): Promise<void>;
  stopContainer(env: Environment): Promise<void>;
  createContainer(env: Environment, mcpConfigPath: string): Promise<void>;
  removeContainer(env: Environment): Promise<void>;
  executePrompt(
    env: Environment,
    prompt: string,
    jsonOutput: boolean,
    sessionId: string | undefined,
  ): Promise<ClaudeCodeResult>;
  createSession(env: Environment): Promise<string>;
  listSessions(env: Environment): Promise<ConversationThread[]>;
  deleteSession(env: Environment, sessionId: string): Promise<void>;
  streamExecution(
    env: Environment,
    prompt: string,
    onMessage: (message: ClaudeCodeMessage) => void,
    options: StreamOptions,
  ): Promise<ClaudeCodeResult>;
}

/** What only claudecode-api can do: the desktop app has no approvals, questions, forks or MCP status. */
interface WebOnlyBackend {
  getMCPServers(env: Environment): Promise<MCPServer[]>;
  answerApproval(executionId: string, requestId: string, answer: ApprovalAnswer): Promise<void>;
  answerQuestion(executionId: string, requestId: string, answers: QuestionAnswers): Promise<void>;
  forkSession(
    env: Environment,
    sessionId: string,
    options: { upToMessageId?: string; title?: string },
  ): Promise<string>;
}

type TauriInvoke = (command: string, args?: Record<string, unknown>) => Promise<unknown>;

/** What `withGlobalTauri` puts on `window`: `core.invoke` in Tauri 2, `invoke` in Tauri 1. */
interface TauriGlobal {
  core?: { invoke: TauriInvoke };
  invoke?: TauriInvoke;
}

let configured: ClaudeCodeWebConfig | undefined;
let web: (ClaudeCodeBackend & WebOnlyBackend) | undefined;
let errorReporter = (action: string, error: unknown): void => {
  console.error(`Failed to ${action}:`, error);
};

// Decided per call, so the module can be imported before Tauri has injected its global. The
// exported functions are async, so a missing configuration is a rejection like any other error.
function backend(): ClaudeCodeBackend {
  const tauri = (globalThis as { __TAURI__?: TauriGlobal }).__TAURI__;
  if (tauri) {
    const invoke = tauri.core?.invoke ?? tauri.invoke;
    if (!invoke) throw new ClaudeCodeError('window.__TAURI__ has no invoke function');
    return tauriBackend(invoke);
  }
  web ??= webBackend(configured ?? webConfigFromVite());
  return web;
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

function webConfigFromVite(): ClaudeCodeWebConfig {
  const env = readViteEnv();
  if (!env.VITE_CLAUDECODE_API_URL) {
    throw new ClaudeCodeError(
      'claudecode-api is not configured: set VITE_CLAUDECODE_API_URL, or call configureClaudeCode()',
    );
  }
  if (env.VITE_CLAUDECODE_TOKEN_URL) {
    return {
      baseUrl: env.VITE_CLAUDECODE_API_URL,
      token: tokenFromFunction(env.VITE_CLAUDECODE_TOKEN_URL),
    };
  }
  if (env.VITE_CLAUDECODE_API_TOKEN) {
    return { baseUrl: env.VITE_CLAUDECODE_API_URL, token: env.VITE_CLAUDECODE_API_TOKEN };
  }
  throw new ClaudeCodeError(
    'claudecode-api has no token: set VITE_CLAUDECODE_TOKEN_URL (or, in local development only, VITE_CLAUDECODE_API_TOKEN)',
  );
}

async function orFallback<T>(action: string, fallback: T, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    reportError(action, error);
    return fallback;
  }
}

function reportError(action: string, error: unknown): void {
  try {
    errorReporter(action, error);
  } catch {
    // A reporter that fails must not turn a fallback into a rejection.
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function absentContainer(env: Environment): ContainerStatus {
  return { exists: false, running: false, name: `claude-agent-${env}` };
}

// ---- The desktop app --------------------------------------------------------------------------

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
  const call = async <T>(command: string, args: Record<string, unknown> = {}): Promise<T> => {
    try {
      return (await invoke(command, args)) as T;
    } catch (error) {
      // Tauri rejects with the command's Err(String), or its own message for bad arguments.
      throw new ClaudeCodeError(typeof error === 'string' ? error : messageOf(error));
    }
  };
  const runPrompt = (
    env: Environment,
    prompt: string,
    jsonOutput: boolean,
    sessionId: string | undefined,
  ) =>
    call<DesktopResult>(TAURI_COMMANDS.executePrompt, {
      env,
      prompt,
      jsonOutput,
      sessionId: sessionId ?? null,
    });

  return {
    checkDockerAvailable: () => call<boolean>(TAURI_COMMANDS.checkDockerAvailable),
    getContainerStatus: async (env) =>
      toContainerStatus(await call<ContainerStatus>(TAURI_COMMANDS.getContainerStatus, { env })),
    startContainer: (env) => call<void>(TAURI_COMMANDS.startContainer, { env }),
    stopContainer: (env) => call<void>(TAURI_COMMANDS.stopContainer, { env }),
    createContainer: (env, mcpConfigPath) =>
      call<void>(TAURI_COMMANDS.createContainer, { env, mcpConfigPath }),
    removeContainer: (env) => call<void>(TAURI_COMMANDS.removeContainer, { env }),
    executePrompt: async (env, prompt, jsonOutput, sessionId) => {
      const desktop = await runPrompt(env, prompt, jsonOutput, sessionId);
      return fromDesktopResult(desktop, parseResultMessage(desktop.json_output), jsonOutput);
    },
    createSession: (env) => call<string>(TAURI_COMMANDS.createSession, { env }),
    listSessions: async (env) => {
      const threads = await call<DesktopThread[]>(TAURI_COMMANDS.listSessions, { env });
      return newestFirst(
        threads.map((thread) => ({
          id: thread.id,
          environment: thread.environment as Environment,
          title: thread.title,
          createdAt: dateFromUnixSeconds(thread.created_at),
          updatedAt: dateFromUnixSeconds(thread.updated_at),
          messageCount: 0,
        })),
      );
    },
    deleteSession: (env, sessionId) => call<void>(TAURI_COMMANDS.deleteSession, { env, sessionId }),
    streamExecution: async (env, prompt, onMessage, options) => {
      // JSON output carries the result message, the one message the desktop can hand over.
      const desktop = await runPrompt(env, prompt, true, options.sessionId);
      const resultMessage = parseResultMessage(desktop.json_output);
      if (resultMessage) onMessage(resultMessage);
      return fromDesktopResult(desktop, resultMessage, options.jsonOutput ?? false);
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
  jsonOutput: boolean,
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
    json_output: jsonOutput ? desktop.json_output : null,
  });
}

/** Only the fields both backends report (the web's status has more). */
function toContainerStatus(status: ContainerStatus): ContainerStatus {
  return { exists: status.exists, running: status.running, name: status.name };
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

/** The desktop's Unix seconds; an empty or odd value reads as now, as the original does. */
function dateFromUnixSeconds(text: string): Date {
  return /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date();
}

function newestFirst(threads: ConversationThread[]): ConversationThread[] {
  return threads.sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
}

// ---- claudecode-api ---------------------------------------------------------------------------

/** Refresh a token this long before it expires, so no request carries one about to lapse. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/** The current bearer token: a fixed one, or the token source's, fetched again near its expiry. */
function bearerTokens(token: string | TokenSource): {
  current(): Promise<string>;
  /** Forgets the held token (the service refused it: revoked, say). */
  discard(): void;
} {
  if (typeof token === 'string') return { current: () => Promise.resolve(token), discard() {} };
  let held: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async () => {
    try {
      const issued = await token();
      const expiresAt = Date.parse(issued.expiresAt);
      // A token shorter-lived than a few margins is still used for three quarters of its life.
      const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, (expiresAt - Date.now()) / 4);
      held = { token: issued.token, refreshAt: expiresAt - margin };
      return issued.token;
    } finally {
      pending = undefined;
    }
  };
  return {
    current() {
      if (held && Date.now() < held.refreshAt) return Promise.resolve(held.token);
      // Concurrent calls share one request to the token function.
      return (pending ??= fetchToken());
    },
    discard() {
      held = undefined;
    },
  };
}

/**
 * `fetch` with the current bearer token. A 401 with a token from the token function is retried
 * once with a fresh one (the held one was revoked or has lapsed).
 */
function authorizedFetch(
  tokens: ReturnType<typeof bearerTokens>,
  refreshable: boolean,
  baseFetch: typeof globalThis.fetch = (input, init) => fetch(input, init),
): typeof globalThis.fetch {
  const send = async (request: Request) => {
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${await tokens.current()}`);
    return baseFetch(new Request(request, { headers }));
  };
  return async (input, init) => {
    const request = new Request(input, init);
    const retry = refreshable ? request.clone() : undefined;
    const response = await send(request);
    if (response.status !== 401 || !retry) return response;
    tokens.discard();
    return send(retry);
  };
}

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
    if (error instanceof ClaudeCodeError) throw error;
    throw new ClaudeCodeError(`${action} failed: ${messageOf(error)}`);
  }
}

const SESSIONS_PAGE_SIZE = 100;
/**
 * The newest sessions a listing reads (the desktop lists at most 50): an environment with
 * thousands would otherwise cost a request a hundred, against the token's rate limit, on every
 * refresh of the sidebar. Older ones stay in the service (`GET /api/sessions/{env}` pages on).
 */
export const MAX_LISTED_SESSIONS = 500;

function webBackend(config: ClaudeCodeWebConfig): ClaudeCodeBackend & WebOnlyBackend {
  const tokens = bearerTokens(config.token);
  const apiFetch = authorizedFetch(tokens, typeof config.token !== 'string', config.fetch);
  // The token goes in per request (authorizedFetch), so the client's own header stays empty.
  const client: ClaudeCodeClient = createClaudeCodeClient({
    baseUrl: config.baseUrl,
    token: '',
    fetch: apiFetch,
  });
  const envPath = (env: string) => ({ params: { path: { env } } });
  const answerOptions = async () => ({
    baseUrl: config.baseUrl,
    token: await tokens.current(),
    fetch: apiFetch,
  });
  const answered = async (action: string, answer: () => Promise<void>) => {
    try {
      await answer();
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
    checkDockerAvailable: async () => {
      // An open route: it needs no token, so a signed-out user still learns where things stand.
      const response = await (config.fetch ?? fetch)(
        `${config.baseUrl.replace(/\/+$/, '')}/health/ready`,
      );
      const body = (await response.json().catch(() => ({}))) as { docker?: string };
      return response.ok && body.docker === 'ok';
    },
    getContainerStatus: async (env) =>
      toContainerStatus(
        await unwrap(client.GET('/api/containers/{env}', envPath(env)), 'getContainerStatus'),
      ),
    startContainer: async (env) => {
      await unwrap(client.POST('/api/containers/{env}/start', envPath(env)), 'startContainer');
    },
    stopContainer: async (env) => {
      await unwrap(client.POST('/api/containers/{env}/stop', envPath(env)), 'stopContainer');
    },
    createContainer: async (env) => {
      await unwrap(client.POST('/api/containers/{env}', envPath(env)), 'createContainer');
    },
    removeContainer: async (env) => {
      await unwrap(client.DELETE('/api/containers/{env}', envPath(env)), 'removeContainer');
    },
    executePrompt: async (env, prompt, jsonOutput, sessionId) => {
      const result = await unwrap(
        client.POST('/api/execute', { body: { env, prompt, jsonOutput, sessionId } }),
        'executePrompt',
      );
      return withoutEmpty(result);
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
            // The desktop's title, for sessions without a title or a first prompt.
            title: session.title ?? `Thread ${session.id.slice(0, 8)}`,
            createdAt: new Date(session.createdAt),
            updatedAt: new Date(session.updatedAt),
            messageCount: session.messageCount,
          });
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor && threads.length < MAX_LISTED_SESSIONS);
      return newestFirst(threads);
    },
    deleteSession: async (env, sessionId) => {
      await unwrap(
        client.DELETE('/api/sessions/{env}/{id}', { params: { path: { env, id: sessionId } } }),
        'deleteSession',
      );
    },
    answerApproval: (executionId, requestId, answer) =>
      answered('answerApproval', async () =>
        postApprovalAnswer(await answerOptions(), executionId, requestId, answer),
      ),
    answerQuestion: (executionId, requestId, answers) =>
      answered('answerQuestion', async () =>
        postQuestionAnswers(await answerOptions(), executionId, requestId, answers),
      ),
    getMCPServers: async (env) => {
      const status = await unwrap(
        client.GET('/api/containers/{env}/mcp', { params: { path: { env } } }),
        'getMCPServers',
      );
      return status.servers;
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
          ...(await answerOptions()),
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
