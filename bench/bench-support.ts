import 'reflect-metadata';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/common/config/load-config';
import { DockerService } from '../src/docker/docker.service';
import { removeDockerObjects } from '../test/support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../test/support/fake-anthropic';

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

export function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
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
    DATA_DIR: dataDir,
    DOCS_ENABLED: 'false',
    THROTTLE_CLAUDE_LIMIT: '100000',
    THROTTLE_TOKEN_LIMIT: '100000',
    THROTTLE_IP_LIMIT: '100000',
    AGENT_ENV_ANTHROPIC_BASE_URL: agentEnv.ANTHROPIC_BASE_URL,
    AGENT_ENV_ANTHROPIC_API_KEY: agentEnv.ANTHROPIC_API_KEY,
    ...settings,
  });
  const app = await createApp(config, { logger: ['error'] });
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
