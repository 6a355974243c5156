import { load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

/** The parts of a compose file the checks read. */
interface ComposeFile {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, { internal?: boolean; external?: boolean; name?: string } | null>;
}

interface Service {
  image?: string;
  container_name?: string;
  ports?: unknown[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  labels?: string[];
  networks?: string[];
  healthcheck?: { test: string[] };
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
}

function compose(file: string): ComposeFile {
  return load(readFileSync(join(root, file), 'utf8')) as ComposeFile;
}

/** `traefik.a.b=c` labels as a map. */
function labelMap(labels: string[] = []): Map<string, string> {
  return new Map(labels.map((label) => [label.slice(0, label.indexOf('=')), label.split('=')[1]]));
}

/**
 * docker-compose.replicas.yml: the API as identical replicas behind Dokploy's Traefik on shared
 * PostgreSQL and Redis, which only the API reaches. Images cannot be pulled in CI, so the file is
 * checked here for what it must say; scripts/compose-smoke.sh has docker-compose validate it.
 */
describe('docker-compose.replicas.yml', () => {
  const base = compose('docker-compose.yml');
  const variant = compose('docker-compose.replicas.yml');
  const api = variant.services.api;
  const environment = api.environment ?? {};

  it('runs the API as two identical replicas, each with its own REPLICA_ID', () => {
    expect(api.deploy?.replicas).toBe(2);
    // Named containers cannot be scaled; without REPLICA_ID each takes its host name.
    expect(api.container_name).toBeUndefined();
    expect(environment).not.toHaveProperty('REPLICA_ID');
  });

  it('gives every replica the same PostgreSQL and Redis, with the passwords from the environment', () => {
    expect(environment.DATABASE_URL).toBe(
      'postgres://claudecode:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/claudecode',
    );
    expect(environment.REDIS_URL).toBe(
      'redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD}@redis:6379/0',
    );
    expect(variant.services.postgres.environment?.POSTGRES_PASSWORD).toBe(
      '${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}',
    );
    expect(variant.services.redis.environment?.REDIS_PASSWORD).toBe(
      '${REDIS_PASSWORD:?set REDIS_PASSWORD}',
    );
    expect(api.depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    for (const store of ['postgres', 'redis']) {
      expect(variant.services[store].healthcheck?.test[0]).toBe('CMD-SHELL');
    }
  });

  it('keeps PostgreSQL and Redis on an internal network of the API, with no port on the host', () => {
    for (const store of ['postgres', 'redis']) {
      expect(variant.services[store].networks).toEqual(['data']);
    }
    expect(variant.networks.data).toEqual({ internal: true });
    expect(api.networks).toContain('data');
    for (const [name, service] of Object.entries(variant.services)) {
      expect([name, service.ports]).toEqual([name, undefined]);
    }
    expect(variant.services.redis).toMatchObject({
      user: 'redis',
      read_only: true,
      cap_drop: ['ALL'],
    });
  });

  it("routes Traefik to the api service's replicas on their port, over dokploy-network only", () => {
    const labels = labelMap(api.labels);
    expect(labels.get('traefik.enable')).toBe('true');
    expect(labels.get('traefik.docker.network')).toBe('dokploy-network');
    expect(labels.get('traefik.http.services.claudecode-api.loadbalancer.server.port')).toBe(
      '3000',
    );
    const routers = [...labels].filter(([key]) =>
      /^traefik\.http\.routers\.[^.]+\.rule$/.test(key),
    );
    expect(routers.length).toBeGreaterThan(0);
    for (const [key, rule] of routers) {
      expect(rule).toBe('Host(`${API_DOMAIN:?set API_DOMAIN}`)');
      expect(labels.get(key.replace(/\.rule$/, '.service'))).toBe('claudecode-api');
    }
    const secure = [...labels].filter(
      ([key, value]) => key.endsWith('.entrypoints') && value === 'websecure',
    );
    expect(
      secure.map(([key]) => labels.get(key.replace(/\.entrypoints$/, '.tls.certresolver'))),
    ).toEqual(['letsencrypt']);
    expect(variant.networks['dokploy-network']).toEqual({ external: true });
    const onTraefik = Object.entries(variant.services).filter(([, service]) =>
      service.networks?.includes('dokploy-network'),
    );
    expect(onTraefik.map(([name]) => name)).toEqual(['api']);
  });

  it('is docker-compose.yml otherwise: the same API settings, socket proxy, agent image, volumes and networks', () => {
    const baseApi = base.services.api;
    const added = Object.keys(environment).filter((key) => !(key in (baseApi.environment ?? {})));
    expect(added.sort()).toEqual(['DATABASE_URL', 'REDIS_URL']);
    expect(environment).toMatchObject(baseApi.environment ?? {});
    expect(variant.services['socket-proxy']).toEqual(base.services['socket-proxy']);
    expect(variant.services['agent-image']).toEqual(base.services['agent-image']);
    expect(api.image).toBe(baseApi.image);
    // The SQLite volume goes: the store is PostgreSQL.
    const { 'api-data': sqlite, ...agentVolumes } = base.volumes;
    expect(sqlite).toBeNull();
    expect(variant.volumes).toEqual({ ...agentVolumes, 'postgres-data': null });
    expect(variant.networks).toMatchObject(base.networks);
  });
});
