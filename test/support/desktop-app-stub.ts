import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { DOCKER_CLI } from './docker-cli';

const execFileAsync = promisify(execFile);

/** A Tauri `invoke`, as `window.__TAURI__.core.invoke` offers it. */
export type TauriInvoke = (command: string, args?: Record<string, unknown>) => Promise<unknown>;

export interface DesktopAppOptions {
  /** The desktop names containers `claude-agent-<env>`; tests pass their own prefix. */
  containerPrefix: string;
  /**
   * Variables for the CLI. The desktop's containers carry their own login; the test agents get
   * the fake upstream's settings this way instead.
   */
  cliEnv: Record<string, string>;
}

const TRANSCRIPTS_DIR = '/home/node/.claude/projects';

/**
 * A stand-in for the desktop app's Tauri commands: the same commands, arguments and results
 * (serde's JSON: `Option::None` is null, a command's `Err(String)` rejects with the string),
 * carried out the way the desktop does them, with the Docker CLI on the agent containers.
 */
export function desktopAppInvoke(options: DesktopAppOptions): TauriInvoke {
  const containerOf = (args: Record<string, unknown>) =>
    `${options.containerPrefix}${String(args.env)}`;
  const docker = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await execFileAsync(DOCKER_CLI, args, { encoding: 'utf8' });
      return { ok: true, stdout, stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };
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

  const commands: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
    get_container_status: async (args) => {
      const name = containerOf(args);
      const { stdout } = await docker(
        'ps',
        '-a',
        '--filter',
        `name=${name}`,
        '--format',
        '{{.Status}}',
      );
      const status = stdout.trim();
      return { exists: status !== '', running: status.startsWith('Up'), name };
    },
    start_container: async (args) => {
      const started = await docker('start', containerOf(args));
      if (!started.ok) commandFailed(`Failed to start container: ${started.stderr}`);
      return null;
    },
    stop_container: async (args) => {
      const stopped = await docker('stop', containerOf(args));
      if (!stopped.ok) commandFailed(`Failed to stop container: ${stopped.stderr}`);
      return null;
    },
    execute_claude_prompt: async (args) => {
      const sessionArgs = typeof args.sessionId === 'string' ? ['--resume', args.sessionId] : [];
      const formatArgs = args.jsonOutput === true ? ['--output-format', 'json'] : [];
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
        json_output: args.jsonOutput === true ? run.stdout : null,
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
      if (!run.ok) commandFailed(`Failed to create session: ${run.stderr}`);
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
        'find',
        TRANSCRIPTS_DIR,
        '-name',
        `${String(args.sessionId)}.jsonl`,
        '-type',
        'f',
        '-delete',
      );
      if (!deleted.ok) commandFailed(`Failed to delete session: ${deleted.stderr}`);
      return null;
    },
  };

  return async (command, args = {}) => {
    const handler = commands[command];
    // Tauri rejects an unknown command with a message like this one.
    if (!handler) commandFailed(`command ${command} not found`);
    return handler(args);
  };
}

/** Tauri rejects with the command's `Err(String)`: a string, not an Error. */
function commandFailed(message: string): never {
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
