import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaudeCodeClient } from '../../client/src';
import { DEFAULT_AGENT_IMAGE } from '../../src/common/config/environment-variables';
import { removeDockerObjects } from './docker-cli';
import { FakeAnthropic, startFakeAnthropic } from './fake-anthropic';
import { createTestDatabase, TestDatabase } from './postgres';
import { SecondDockerHost, startSecondDockerHost } from './second-docker-host';
import { ServiceProcess, startServiceProcess } from './service-process';
import { createSpecCheckedClient } from './spec-checked-client';
import { testRedisSettings } from './test-redis';

/** The two API replicas of a cluster. */
export type ReplicaName = 'a' | 'b';

/** One API process of the cluster. */
export interface Replica {
  readonly name: ReplicaName;
  /** Its REPLICA_ID; a restart is a new replica, with a new id. */
  readonly id: string;
  readonly baseUrl: string;
  /** The generated client with the cluster's token; answers are checked against openapi.json. */
  readonly client: ClaudeCodeClient;
  readonly process: ServiceProcess;
}

/**
 * Two API processes (the built `dist/main.js`) on different ports, sharing what a deployment of
 * replicas shares: one fresh PostgreSQL database, one Redis (under a key prefix of their own),
 * the token, the prefixes of the agents' containers and volumes, and a pool of two real Docker
 * engines: the machine's (`local`, where `dev` lives) and a second one in its own network
 * namespace (`second`, where `staging` lives). The agents reach a fake Anthropic API on their
 * host's loopback: the same port on both, so one ANTHROPIC_BASE_URL serves both hosts; the
 * machine's fake (`fake`) is the one tests script.
 */
export interface ReplicaCluster {
  readonly token: string;
  readonly fake: FakeAnthropic;
  readonly second: SecondDockerHost;
  /** The replica's current process (after a restart, the new one). */
  replica(name: ReplicaName): Replica;
  /** SIGKILL, as a crash: no drain, no goodbye; resolves once the process is gone. */
  kill(name: ReplicaName): Promise<void>;
  /** A new process in the replica's place (after `kill`), with a new REPLICA_ID. */
  restart(name: ReplicaName): Promise<Replica>;
  /** Restarts whichever replica is not running, so a test never inherits a dead one. */
  ensureRunning(): Promise<void>;
  /** The name of an environment's agent container. */
  containerName(env: string): string;
  /** Stops everything and removes what the cluster made. Idempotent. */
  close(): Promise<void>;
}

/** The environment pinned on each engine of the pool. */
export const LOCAL_ENV = 'dev';
export const SECOND_HOST_ENV = 'staging';

/**
 * Starts the cluster. Every prerequisite missing (root for the second engine, PostgreSQL, Redis,
 * the agent image) fails here, loudly; what was already made is removed.
 */
export async function startReplicaCluster(
  settings: Record<string, string> = {},
): Promise<ReplicaCluster> {
  const suffix = randomBytes(4).toString('hex');
  const prefix = `cca-rc-${suffix}-`;
  const token = `replica-token-${randomBytes(24).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cca-rc-data-'));
  const replicas = new Map<ReplicaName, Replica>();
  const generations = new Map<ReplicaName, number>();
  let fake: FakeAnthropic | undefined;
  let second: SecondDockerHost | undefined;
  let database: TestDatabase | undefined;
  let closed = false;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all([...replicas.values()].map((replica) => stopProcess(replica.process)));
    await fake?.close();
    second?.remove();
    removeDockerObjects(prefix);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    second = await startSecondDockerHost();
    second.loadImages(DEFAULT_AGENT_IMAGE);
    fake = await startFakeAnthropic();
    await second.startFakeAnthropic(fake.port);
    database = await createTestDatabase();
    const shared: Record<string, string> = {
      API_TOKEN: token,
      CONTAINER_PREFIX: prefix,
      VOLUME_PREFIX: prefix,
      AGENT_NETWORK: 'host',
      AGENT_ENV_ANTHROPIC_BASE_URL: fake.url,
      AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-dummy-key',
      ENVIRONMENTS: `${LOCAL_ENV},${SECOND_HOST_ENV}`,
      DOCKER_HOSTS: `local=unix:///var/run/docker.sock,second=${second.address}`,
      [`DOCKER_HOST_${LOCAL_ENV.toUpperCase()}`]: 'local',
      [`DOCKER_HOST_${SECOND_HOST_ENV.toUpperCase()}`]: 'second',
      DATABASE_URL: database.url,
      ...testRedisSettings(`cca-rc-${suffix}:`),
      // The tests poll and burst from one address with one token.
      THROTTLE_IP_LIMIT: '100000',
      THROTTLE_TOKEN_LIMIT: '100000',
      THROTTLE_CLAUDE_LIMIT: '100000',
      SHUTDOWN_GRACE_MS: '1000',
      LOG_LEVEL: 'warn',
      ...settings,
    };

    const start = async (name: ReplicaName): Promise<Replica> => {
      const generation = (generations.get(name) ?? 0) + 1;
      generations.set(name, generation);
      const id = `${name}-${suffix}-${generation}`;
      const service = await startServiceProcess({
        ...shared,
        REPLICA_ID: id,
        // Unused with DATABASE_URL; its own all the same, so nothing is shared by accident.
        DATA_DIR: join(dataDir, id),
      });
      const replica: Replica = {
        name,
        id,
        baseUrl: service.baseUrl,
        client: createSpecCheckedClient({ baseUrl: service.baseUrl, token }),
        process: service,
      };
      replicas.set(name, replica);
      return replica;
    };
    // At once: the migrations must hold their lock against each other.
    await Promise.all([start('a'), start('b')]);

    const replica = (name: ReplicaName): Replica => {
      const found = replicas.get(name);
      if (!found) throw new Error(`replica ${name} is not running`);
      return found;
    };
    const running = (name: ReplicaName): boolean => {
      const child = replicas.get(name)?.process.child;
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    };
    return {
      token,
      fake,
      second,
      replica,
      async kill(name) {
        const { process: service } = replica(name);
        service.child.kill('SIGKILL');
        await service.exited;
      },
      restart: start,
      async ensureRunning() {
        for (const name of ['a', 'b'] as const) if (!running(name)) await start(name);
      },
      containerName: (env) => `${prefix}${env}`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** SIGTERM (the drain is short here), then SIGKILL if it lingers. */
async function stopProcess(service: ServiceProcess): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await withDeadline(service.exited, 10_000, 'the replica to drain and exit');
  } catch {
    child.kill('SIGKILL');
    await service.exited;
  }
}

/** `promise`, or an error naming `what` after `ms`: for a stream that might never end. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
