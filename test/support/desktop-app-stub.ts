import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DOCKER_CLI } from './docker-cli';

const execFileAsync = promisify(execFile);

/** A Tauri `invoke`, as `window.__TAURI__.core.invoke` offers it. */
export type TauriInvoke = (command: string, args?: Record<string, unknown>) => Promise<unknown>;

/** One Docker CLI call's outcome. */
export interface DockerOutcome {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `docker <args>`; the unit tests pass a recording fake. */
export type DockerRunner = (args: string[]) => Promise<DockerOutcome>;

export interface DesktopAppOptions {
  /** The desktop names containers `claude-agent-<env>`; tests pass their own prefix. */
  containerPrefix: string;
  /** The desktop's volumes are `claude-credentials`, `claude-config`, `claude-sessions-<env>`. */
  volumePrefix: string;
  /** The desktop runs the image `claude-agent`; tests run the agent image they have. */
  image: string;
  /** Extra `docker run` options the test agents need (their network). */
  runOptions?: string[];
  /**
   * Variables for the CLI. The desktop's containers carry their own login; the test agents get
   * the fake upstream's settings this way instead.
   */
  cliEnv: Record<string, string>;
  docker?: DockerRunner;
}

/** A Rust parameter's serde type, as far as the ten commands need. */
type RustType = 'String' | 'bool' | 'Option<String>';

/** The parameters of the desktop's commands (src-tauri/src/claudecode.rs), in Rust's names. */
const COMMAND_PARAMETERS: Record<string, Record<string, RustType>> = {
  check_docker_available: {},
  get_container_status: { env: 'String' },
  start_container: { env: 'String' },
  stop_container: { env: 'String' },
  create_container: { env: 'String', mcp_config_path: 'String' },
  remove_container: { env: 'String' },
  execute_claude_prompt: {
    env: 'String',
    prompt: 'String',
    json_output: 'bool',
    session_id: 'Option<String>',
  },
  create_claude_session: { env: 'String' },
  list_claude_sessions: { env: 'String' },
  delete_claude_session: { env: 'String', session_id: 'String' },
};

/** A command's arguments, by their Rust names, once Tauri has deserialized them. */
type RustArgs = Record<string, string | boolean | null>;

const TRANSCRIPTS_DIR = '/home/node/.claude/projects';

const runDocker: DockerRunner = async (args) => {
  try {
    const { stdout, stderr } = await execFileAsync(DOCKER_CLI, args, { encoding: 'utf8' });
    return { ok: true, stdout, stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? failed.message };
  }
};

/**
 * A stand-in for the desktop app as Tauri 2 runs it. Like Tauri, it passes the arguments as JSON,
 * finds each Rust parameter under its camelCase key, and rejects a missing or mistyped one with
 * Tauri's own message before the command runs; an `Option` may be absent or null. Like the
 * desktop's Rust, each of the ten commands runs the Docker CLI and answers serde's JSON
 * (`Option::None` is null; an `Err(String)` rejects with the string).
 */
export function desktopAppInvoke(options: DesktopAppOptions): TauriInvoke {
  const commands = desktopCommands(options);
  return async (command, args = {}) => {
    const parameters = COMMAND_PARAMETERS[command];
    if (!parameters) rejectWith(`Command ${command} not found`);
    // What reaches the Rust side is JSON: an undefined value is no key at all.
    const sent = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
    const rustArgs: RustArgs = {};
    for (const [name, type] of Object.entries(parameters)) {
      rustArgs[name] = deserializeArgument(command, name, type, sent);
    }
    return commands[command](rustArgs);
  };
}

/** Tauri's `CommandItem` deserializer and `Error::InvalidArgs`, for the types above. */
function deserializeArgument(
  command: string,
  rustName: string,
  type: RustType,
  sent: Record<string, unknown>,
): string | boolean | null {
  // #[tauri::command] looks each parameter up under its camelCase name.
  const key = rustName.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
  const invalid = (problem: string): never =>
    rejectWith(`invalid args \`${key}\` for command \`${command}\`: ${problem}`);
  if (!(key in sent)) {
    if (type === 'Option<String>') return null;
    return invalid(`command ${command} missing required key ${key}`);
  }
  const value = sent[key];
  if (type === 'Option<String>' && value === null) return null;
  const expected = type === 'bool' ? 'boolean' : 'string';
  if (typeof value !== expected) {
    return invalid(`invalid type: ${serdeUnexpected(value)}, expected a ${expected}`);
  }
  return value as string | boolean;
}

/** serde_json's words for the value it did not expect. */
function serdeUnexpected(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'sequence';
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  }
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return 'map';
}

/** The ten commands, carried out the way the desktop's Rust does. */
function desktopCommands(
  options: DesktopAppOptions,
): Record<string, (args: RustArgs) => Promise<unknown>> {
  const docker = (...args: string[]) => (options.docker ?? runDocker)(args);
  const containerOf = (args: RustArgs) => `${options.containerPrefix}${String(args.env)}`;
  const execClaude = (container: string, claudeArgs: string[]) =>
    docker(
      'exec',
      ...Object.entries(options.cliEnv).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
      container,
      'claude',
      '--dangerously-skip-permissions',
      '--print',
      ...claudeArgs,
    );
  const statusLine = async (name: string, format: string) =>
    (await docker('ps', '-a', '--filter', `name=${name}`, '--format', format)).stdout.trim();
  const mustSucceed = (outcome: DockerOutcome, failure: string) => {
    if (!outcome.ok) rejectWith(`${failure}: ${outcome.stderr}`);
    return null;
  };

  return {
    check_docker_available: async () => (await docker('info')).ok,
    get_container_status: async (args) => {
      const name = containerOf(args);
      const status = await statusLine(name, '{{.Status}}');
      return { exists: status !== '', running: status.startsWith('Up'), name };
    },
    start_container: async (args) =>
      mustSucceed(await docker('start', containerOf(args)), 'Failed to start container'),
    stop_container: async (args) =>
      mustSucceed(await docker('stop', containerOf(args)), 'Failed to stop container'),
    create_container: async (args) => {
      const name = containerOf(args);
      const mcpConfigPath = String(args.mcp_config_path);
      if ((await statusLine(name, '{{.Names}}')) !== '') {
        rejectWith(`Container ${name} already exists. Remove it first or start it.`);
      }
      if (!existsSync(mcpConfigPath)) rejectWith(`MCP config file not found: ${mcpConfigPath}`);
      const volume = (suffix: string) => `${options.volumePrefix}${suffix}`;
      const created = await docker(
        'run',
        '-d',
        '--name',
        name,
        ...(options.runOptions ?? []),
        '-v',
        `${volume('credentials')}:/home/node/.claude`,
        '-v',
        `${volume('config')}:/home/node/.config`,
        '-v',
        `${volume(`sessions-${String(args.env)}`)}:${TRANSCRIPTS_DIR}`,
        '-v',
        `${mcpConfigPath}:/home/node/.mcp.json:ro`,
        options.image,
      );
      return mustSucceed(created, 'Failed to create container');
    },
    remove_container: async (args) => {
      await docker('stop', containerOf(args));
      return mustSucceed(await docker('rm', '-f', containerOf(args)), 'Failed to remove container');
    },
    execute_claude_prompt: async (args) => {
      const sessionArgs = args.session_id === null ? [] : ['--resume', String(args.session_id)];
      const formatArgs = args.json_output === true ? ['--output-format', 'json'] : [];
      const run = await execClaude(containerOf(args), [
        ...sessionArgs,
        ...formatArgs,
        '-p',
        String(args.prompt),
      ]);
      if (!run.ok) {
        return { success: false, output: null, error: run.stderr || run.stdout, json_output: null };
      }
      return {
        success: true,
        output: run.stdout,
        error: run.stderr === '' ? null : run.stderr,
        json_output: args.json_output === true ? run.stdout : null,
      };
    },
    create_claude_session: async (args) => {
      const sessionId = randomUUID();
      const run = await execClaude(containerOf(args), [
        '--session-id',
        sessionId,
        '-p',
        'Hello, this is the start of a new conversation.',
      ]);
      mustSucceed(run, 'Failed to create session');
      return sessionId;
    },
    list_claude_sessions: async (args) => {
      const container = containerOf(args);
      const found = await docker(
        'exec',
        container,
        'sh',
        '-c',
        `find ${TRANSCRIPTS_DIR} -name '*.jsonl' -type f 2>/dev/null | head -50`,
      );
      const threads = [];
      for (const path of found.stdout.split('\n').filter(Boolean)) {
        const id = path
          .split('/')
          .pop()!
          .replace(/\.jsonl$/, '');
        const mtime = (await docker('exec', container, 'stat', '-c', '%Y', path)).stdout.trim();
        threads.push({
          id,
          environment: String(args.env),
          title: `Thread ${id.slice(0, 8)}`,
          created_at: mtime,
          updated_at: mtime,
        });
      }
      return threads;
    },
    delete_claude_session: async (args) => {
      const deleted = await docker(
        'exec',
        containerOf(args),
        'sh',
        '-c',
        `find ${TRANSCRIPTS_DIR} -name '${String(args.session_id)}.jsonl' -type f -delete 2>/dev/null`,
      );
      return mustSucceed(deleted, 'Failed to delete session');
    },
  };
}

/**
 * The stub over a Docker CLI that records its calls and answers `answer(args)` (success and no
 * output unless it says otherwise), for tests without an engine. It stands for a desktop with
 * the desktop's own names (`claude-agent-<env>`, `claude-…` volumes, image `claude-agent`).
 */
export function desktopOverRecordingDocker(
  answer: (args: string[]) => Partial<DockerOutcome> = () => ({}),
): { invoke: TauriInvoke; dockerCalls: string[][] } {
  const dockerCalls: string[][] = [];
  const invoke = desktopAppInvoke({
    containerPrefix: 'claude-agent-',
    volumePrefix: 'claude-',
    image: 'claude-agent',
    cliEnv: {},
    docker: (args) => {
      dockerCalls.push(args);
      return Promise.resolve({ ok: true, stdout: '', stderr: '', ...answer(args) });
    },
  });
  return { invoke, dockerCalls };
}

/** Tauri rejects with a string (the command's `Err(String)` or its own message), not an Error. */
function rejectWith(message: string): never {
  // eslint-disable-next-line @typescript-eslint/only-throw-error
  throw message;
}

/** Puts a Tauri 2 global on `globalThis` (which is `window` in a browser) until the undo. */
export function installTauriGlobal(invoke: TauriInvoke): () => void {
  const global = globalThis as { __TAURI__?: unknown };
  global.__TAURI__ = { core: { invoke } };
  return () => {
    delete global.__TAURI__;
  };
}
