import 'reflect-metadata';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/common/config/load-config';
import { DockerService } from '../src/docker/docker.service';
import { removeDockerObjects } from '../test/support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../test/support/fake-anthropic';
import { sleep } from '../test/support/wait';

export interface BenchRig {
  app: NestFastifyApplication;
  baseUrl: string;
  headers: Record<string, string>;
  docker: DockerService;
  fake: FakeAnthropic;
  /** What the agent needs to reach the fake upstream, for direct execs. */
  agentEnv: Record<string, string>;
  container: (env: string) => string;
  close: () => Promise<void>;
}

/** The cold reference of the benches: `claude -p` of `prompt`, one dockerode exec in the container. */
export async function coldClaudeExec(
  rig: BenchRig,
  container: string,
  prompt: string,
): Promise<void> {
  const result = await rig.docker.exec(container, {
    cmd: ['claude', '-p', '--output-format', 'json'],
    env: rig.agentEnv,
    user: 'node',
    workdir: '/workspace',
    stdin: prompt,
  });
  if (result.exitCode !== 0) throw new Error(result.stderr);
}

export function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

export function textFlag(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * The service in-process on loopback with its own containers and volumes, a fake upstream, and
 * the given environments started. `close` removes everything it made.
 */
export async function startRig(
  environments: string[],
  settings: Record<string, string> = {},
): Promise<BenchRig> {
  const fake = await startFakeAnthropic();
  const agentEnv = { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'sk-ant-bench' };
  const prefix = `cca-bench-${randomBytes(3).toString('hex')}-`;
  const token = randomBytes(24).toString('hex');
  const dataDir = `/tmp/${prefix}data`;
  const config = loadConfig({
    API_TOKEN: token,
    CONTAINER_PREFIX: prefix,
    VOLUME_PREFIX: prefix,
    AGENT_NETWORK: 'host',
    ENVIRONMENTS: environments.join(','),
    LOG_LEVEL: 'error',
    DATA_DIR: dataDir,
    DOCS_ENABLED: 'false',
    THROTTLE_CLAUDE_LIMIT: '100000',
    THROTTLE_TOKEN_LIMIT: '100000',
    THROTTLE_IP_LIMIT: '100000',
    AGENT_ENV_ANTHROPIC_BASE_URL: agentEnv.ANTHROPIC_BASE_URL,
    AGENT_ENV_ANTHROPIC_API_KEY: agentEnv.ANTHROPIC_API_KEY,
    ...settings,
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const docker = app.get(DockerService);
  for (const env of environments) {
    const res = await fetch(`${baseUrl}/api/containers/${env}/start`, {
      method: 'POST',
      headers: { authorization: headers.authorization },
    });
    if (!res.ok) throw new Error(`could not start ${env}: ${await res.text()}`);
  }
  return {
    app,
    baseUrl,
    headers,
    docker,
    fake,
    agentEnv,
    container: (env) => `${prefix}${env}`,
    close: async () => {
      await app.close();
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
      removeDockerObjects(prefix);
    },
  };
}

import { freePort } from '../test/support/service-process';

export { freePort };
export { sleep };

export interface ServiceChild {
  baseUrl: string;
  pid: number;
  /** The last 20 kB it printed. */
  output: () => string;
  /** SIGTERM, then SIGKILL after 30 s; resolves once it has exited. */
  stop: () => Promise<void>;
}

/** The built service (`dist/main.js`, see `npm run build`), whatever folder the bench runs from. */
const SERVICE_MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * The built service as its own process on 127.0.0.1:`port` (`nodeArgs` before its script), with
 * only PATH and `env` for its environment, so its CPU and memory are its own. Resolves once /health answers (60 s at most).
 */
export async function spawnService(
  env: Record<string, string>,
  port: number,
  nodeArgs: readonly string[] = [],
): Promise<ServiceChild> {
  const child = spawn(process.execPath, [...nodeArgs, SERVICE_MAIN], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${baseUrl}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) return { baseUrl, pid: child.pid ?? 0, output: () => output, stop };
    if (!running() || Date.now() > deadline) {
      await stop();
      throw new Error(`the service did not start:\n${output}`);
    }
    await sleep(100);
  }
}

export interface BenchService {
  service: ServiceChild;
  /** The prefix of its containers and volumes. */
  prefix: string;
  /** `authorization: Bearer <its API token>`. */
  auth: Record<string, string>;
  /** Stops it and removes its data directory, containers and volumes. */
  close: () => Promise<void>;
}

/**
 * The built service as its own process (see spawnService) with containers, volumes and data of
 * its own, the throttles out of the way, and its agents pointed at the fake upstream `fakeUrl`.
 * `settings` add to or override those.
 */
export async function startBenchService(
  fakeUrl: string,
  environments: readonly string[],
  settings: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<BenchService> {
  const prefix = `cca-bench-${randomBytes(3).toString('hex')}-`;
  const token = randomBytes(24).toString('hex');
  const dataDir = `/tmp/${prefix}data`;
  const cleanUp = (): void => {
    rmSync(dataDir, { recursive: true, force: true });
    removeDockerObjects(prefix);
  };
  const service = await spawnService(
    {
      API_TOKEN: token,
      CONTAINER_PREFIX: prefix,
      VOLUME_PREFIX: prefix,
      AGENT_NETWORK: 'host',
      ENVIRONMENTS: environments.join(','),
      DATA_DIR: dataDir,
      DOCS_ENABLED: 'false',
      THROTTLE_CLAUDE_LIMIT: '100000',
      THROTTLE_TOKEN_LIMIT: '100000',
      THROTTLE_IP_LIMIT: '100000',
      AGENT_ENV_ANTHROPIC_BASE_URL: fakeUrl,
      AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-bench',
      ...settings,
    },
    await freePort(),
    nodeArgs,
  ).catch((error: unknown) => {
    cleanUp();
    throw error;
  });
  return {
    service,
    prefix,
    auth: { authorization: `Bearer ${token}` },
    close: async () => {
      await service.stop();
      cleanUp();
    },
  };
}

/**
 * CPU time (user + system, ms) a process has used, from /proc; 0 once it is gone. On a busy
 * machine, CPU per request is steadier than requests per second.
 */
export function cpuMs(pid: number): number {
  try {
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** USER_HZ, 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_S = 100;

/** Samples a process's VmRSS every `everyMs`; `pid` is asked each time, so it follows restarts. */
export function sampleRss(
  pid: () => number,
  everyMs = 200,
): { maxMb: () => number; stop: () => void } {
  let maxKb = 0;
  const timer = setInterval(() => {
    try {
      const kb = Number(
        /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid()}/status`, 'utf8'))?.[1],
      );
      if (kb > maxKb) maxKb = kb;
    } catch {
      // Between a stop and a start there is no process to read.
    }
  }, everyMs);
  return { maxMb: () => maxKb / 1024, stop: () => clearInterval(timer) };
}
