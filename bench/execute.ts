/**
 * Side-by-side latency of one prompt, on the same container and the same fake upstream:
 *   (a) POST /api/execute through the service (Agent SDK over a dockerode exec),
 *   (b) a direct dockerode exec of `claude -p --output-format json`,
 *   (c) the original plan's way: shelling out to `docker exec`.
 * The three are interleaved round by round, so machine noise hits them alike.
 * Run: npm run bench:execute [-- --rounds 20]
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/common/config/load-config';
import { DockerService } from '../src/docker/docker.service';
import { startFakeAnthropic } from '../test/support/fake-anthropic';

const DOCKER_CLI = '/usr/bin/docker';
const PROMPT = 'Say hello to the benchmark.';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function timed(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function dockerExecCli(container: string, env: Record<string, string>): Promise<void> {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  return new Promise((resolve, reject) => {
    const child = execFile(
      DOCKER_CLI,
      [
        'exec',
        '-i',
        '-u',
        'node',
        '-w',
        '/workspace',
        ...envArgs,
        container,
        'claude',
        '-p',
        '--output-format',
        'json',
      ],
      (error, stdout) => {
        if (error) return reject(new Error(`docker exec failed: ${error.message}`));
        const result = JSON.parse(stdout) as { is_error: boolean };
        return result.is_error ? reject(new Error(stdout)) : resolve();
      },
    );
    child.stdin?.end(PROMPT);
  });
}

async function main(): Promise<void> {
  const rounds = flag('--rounds', 15);
  const fake = await startFakeAnthropic();
  const agentEnv = { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'sk-ant-bench' };
  const prefix = `cca-bench-${randomBytes(3).toString('hex')}-`;
  const token = randomBytes(24).toString('hex');
  const config = loadConfig({
    API_TOKEN: token,
    CONTAINER_PREFIX: prefix,
    VOLUME_PREFIX: prefix,
    AGENT_NETWORK: 'host',
    DATA_DIR: `/tmp/${prefix}data`,
    DOCS_ENABLED: 'false',
    THROTTLE_CLAUDE_LIMIT: '100000',
    AGENT_ENV_ANTHROPIC_BASE_URL: agentEnv.ANTHROPIC_BASE_URL,
    AGENT_ENV_ANTHROPIC_API_KEY: agentEnv.ANTHROPIC_API_KEY,
  });
  const app = await createApp(config, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const docker = app.get(DockerService);
  const container = `${prefix}dev`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  const modes: Record<'a' | 'b' | 'c', () => Promise<void>> = {
    a: async () => {
      const res = await fetch(`${baseUrl}/api/execute`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ env: 'dev', prompt: PROMPT }),
      });
      const body = (await res.json()) as { success: boolean };
      if (!body.success) throw new Error(`execute failed: ${JSON.stringify(body)}`);
    },
    b: async () => {
      const result = await docker.exec(container, {
        cmd: ['claude', '-p', '--output-format', 'json'],
        env: agentEnv,
        user: 'node',
        workdir: '/workspace',
        stdin: PROMPT,
      });
      if (result.exitCode !== 0) throw new Error(result.stderr);
    },
    c: () => dockerExecCli(container, agentEnv),
  };

  try {
    await fetch(`${baseUrl}/api/containers/dev/start`, {
      method: 'POST',
      headers: { authorization: headers.authorization },
    });
    for (const run of Object.values(modes)) await run(); // warm-up: page cache, SDK load
    const samples: Record<string, number[]> = { a: [], b: [], c: [] };
    for (let round = 0; round < rounds; round += 1) {
      for (const [mode, run] of Object.entries(modes)) samples[mode].push(await timed(run));
    }
    const row = (mode: string, label: string) =>
      `${label.padEnd(44)} p50 ${percentile(samples[mode], 50).toFixed(1).padStart(7)} ms   p90 ${percentile(samples[mode], 90).toFixed(1).padStart(7)} ms`;
    console.log(`claude -p, ${rounds} rounds, interleaved, same container and fake upstream`);
    console.log(row('a', '(a) POST /api/execute'));
    console.log(row('b', '(b) dockerode exec of claude -p'));
    console.log(row('c', '(c) docker exec CLI shell-out (original plan)'));
    for (const p of [50, 90]) {
      const a = percentile(samples.a, p);
      console.log(
        `p${p} ratios: a/b = ${(a / percentile(samples.b, p)).toFixed(3)}   a/c = ${(a / percentile(samples.c, p)).toFixed(3)}`,
      );
    }
  } finally {
    await app.close();
    await fake.close();
    await docker.removeContainer(container);
    for (const volume of ['credentials', 'config', 'sessions-dev'])
      await docker.removeVolume(`${prefix}${volume}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
