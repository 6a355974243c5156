import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ServiceProcess {
  baseUrl: string;
  child: ChildProcess;
  output: () => string;
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | string | null>;
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The built service (`dist/main.js`) as its own process, for what only a real process shows:
 * signals, crashes and restarts. `npm run build` (or the test script) must have run.
 */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { baseUrl, child, output: () => output, exited };
}

/**
 * The settings of a service process with one environment, `dev`, whose agents reach the fake
 * upstream (host network), with its own prefixes and store.
 */
export function fakeUpstreamProcessEnv(options: {
  token: string;
  prefix: string;
  dataDir: string;
  fakeUrl: string;
}): Record<string, string> {
  return {
    API_TOKEN: options.token,
    CONTAINER_PREFIX: options.prefix,
    VOLUME_PREFIX: options.prefix,
    AGENT_NETWORK: 'host',
    DATA_DIR: options.dataDir,
    ENVIRONMENTS: 'dev',
    AGENT_ENV_ANTHROPIC_BASE_URL: options.fakeUrl,
    AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-dummy-key',
  };
}
