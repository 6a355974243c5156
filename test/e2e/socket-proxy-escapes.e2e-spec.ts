import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_AGENT_IMAGE } from '../../src/common/config/environment-variables';
import { dockerCli, removeDockerObjects } from '../support/docker-cli';
import { PROXY_IMAGE, requireProxyImage, sendRaw, waitForPing } from '../support/socket-proxy';
import { uniqueSuffix } from '../support/test-app';

const ROOT = resolve(__dirname, '../..');
const COMPOSE = '/usr/bin/docker-compose';
/** The agent image the compose file gives both the API and the proxy (x-agent). */
const AGENT_IMAGE = DEFAULT_AGENT_IMAGE;

type Body = Record<string, unknown>;

interface Attempt {
  what: string;
  method: string;
  path: string;
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: Body | string | Buffer;
  headers?: Record<string, string>;
}

/** One HTTP/1.1 request written by hand, so nothing tidies what an attacker would send. */
function requestBytes({ method, path, body, headers = {} }: Attempt): Buffer {
  const payload =
    body === undefined
      ? Buffer.alloc(0)
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const head: Record<string, string> = { Host: 'docker', Connection: 'close' };
  if (body !== undefined) {
    head['Content-Type'] = 'application/json';
    head['Content-Length'] = String(payload.length);
  }
  Object.assign(head, headers);
  const lines = Object.entries(head)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.concat([
    Buffer.from(`${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`),
    payload,
  ]);
}

function statusOf(reply: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3}) /.exec(reply)?.[1] ?? 0);
}

function exists(kind: 'container' | 'volume', name: string): boolean {
  const list = kind === 'container' ? ['ps', '-aq'] : ['volume', 'ls', '-q'];
  return dockerCli(...list, '--filter', `name=^${name}$`).trim() !== '';
}

/**
 * The proxy exactly as docker-compose.yml configures it (its environment from the same x-agent
 * values and variables as the API's, read-only, no capabilities, the socket's group), brought
 * up by Debian's docker-compose. The test override changes only what a test must: its own names
 * for everything the compose file names globally, and a way in from loopback (under compose the
 * proxy sits on an internal network alone, which no port can reach). The agents' network is a
 * test bridge that does not exist yet, so the API's own network create can pass through too.
 */
describe('the socket proxy under compose, against attempts to escape to the host', () => {
  const id = uniqueSuffix();
  const project = `cca-esc-${id}`;
  const prefix = `cca-esc-${id}-`;
  const containerPrefix = `${prefix}agent-`;
  const agentNetwork = `${prefix}agents`;
  // Its name holds the agent network's: an unanchored name filter would list it too.
  const decoyNetwork = `${agentNetwork}-decoy`;
  const own = `${containerPrefix}own`;
  const work = mkdtempSync(join(tmpdir(), 'cca-esc-'));
  let proxyUrl: string;
  let proxyContainer: { id: string; name: string };

  const compose = (...args: string[]): string =>
    execFileSync(
      COMPOSE,
      [
        '--ansi',
        'never',
        '-p',
        project,
        '--env-file',
        join(work, 'env'),
        '-f',
        join(ROOT, 'docker-compose.yml'),
        '-f',
        join(work, 'override.yml'),
        ...args,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );

  const send = async (attempt: Attempt): Promise<{ status: number; reply: string }> => {
    const reply = await sendRaw(proxyUrl, requestBytes(attempt));
    return { status: statusOf(reply), reply };
  };

  /** Exactly what DockerService.createContainer sends today. */
  const currentShape = (name: string, volume = `${prefix}config`): Body => ({
    name,
    Image: AGENT_IMAGE,
    User: 'node',
    WorkingDir: '/workspace',
    Labels: { 'com.claudecode-api.managed': 'true', 'com.claudecode-api.env': 'dev' },
    HostConfig: {
      NetworkMode: agentNetwork,
      RestartPolicy: { Name: 'unless-stopped' },
      Init: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Mounts: [{ Type: 'volume', Source: volume, Target: '/home/node/.claude' }],
    },
  });

  /** The bounded shape agreed for the agent limits (notes: shape.md). */
  const boundedShape = (name: string): Body => {
    const shape = currentShape(name);
    return {
      ...shape,
      Labels: {
        ...(shape.Labels as Body),
        'com.claudecode-api.settings-hash': 'a'.repeat(64),
      },
      HostConfig: {
        ...(shape.HostConfig as Body),
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m', '/home/node/.cache': 'rw,nosuid,size=16m' },
        Memory: 1073741824,
        MemorySwap: 1073741824,
        NanoCpus: 1000000000,
        PidsLimit: 256,
        CpuShares: 512,
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }],
      },
    };
  };

  beforeAll(async () => {
    requireProxyImage();
    writeFileSync(
      join(work, 'env'),
      [
        `API_TOKEN=${'t'.repeat(40)}`,
        `CONTAINER_PREFIX=${containerPrefix}`,
        `VOLUME_PREFIX=${prefix}`,
        `DOCKER_GID=${statSync('/var/run/docker.sock').gid}`,
        '',
      ].join('\n'),
    );
    const volumes = ['credentials', 'config', 'sessions-dev', 'sessions-staging', 'sessions-prod'];
    writeFileSync(
      join(work, 'override.yml'),
      [
        "version: '3.8'",
        'services:',
        '  socket-proxy:',
        `    image: ${PROXY_IMAGE}`,
        '    environment:',
        `      AGENT_NETWORK: ${agentNetwork}`,
        '    networks: [docker-api, default]',
        "    ports: ['127.0.0.1::2375']",
        'volumes:',
        ...volumes.flatMap((volume) => [`  claude-${volume}:`, `    name: ${prefix}${volume}`]),
        'networks:',
        '  default:',
        `    name: ${prefix}network`,
        '',
      ].join('\n'),
    );
    compose('up', '-d', '--no-build', '--no-deps', 'socket-proxy');
    proxyUrl = `http://${compose('port', 'socket-proxy', '2375').trim()}`;
    const [proxyId, proxyName] = dockerCli(
      'inspect',
      '--format',
      '{{.Id}} {{.Name}}',
      compose('ps', '-q', 'socket-proxy').trim(),
    )
      .trim()
      .split(' ');
    proxyContainer = { id: proxyId, name: proxyName.replace(/^\//, '') };
    dockerCli('network', 'create', decoyNetwork);
    await waitForPing(proxyUrl);
  }, 120_000);

  afterAll(() => {
    try {
      removeDockerObjects(prefix);
      compose('down', '-v', '--remove-orphans', '--timeout', '2');
      for (const network of [agentNetwork, decoyNetwork]) {
        if (dockerCli('network', 'ls', '-q', '--filter', `name=^${network}$`).trim()) {
          dockerCli('network', 'rm', network);
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);

  it('lets through what the API sends, in the current and the bounded container shape', async () => {
    // The network list as ensureNetwork asks for it: the agent network alone, never the decoy.
    const listNetworks = async (): Promise<unknown> => {
      const filters = encodeURIComponent(JSON.stringify({ name: [agentNetwork] }));
      const res = await fetch(`${proxyUrl}/networks?filters=${filters}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { Name: string }[]).map((network) => network.Name);
    };
    expect(await listNetworks()).toEqual([]);

    const calls: Attempt[] = [
      {
        what: 'network create',
        method: 'POST',
        path: `/networks/create?Name=${agentNetwork}`,
        body: {
          Name: agentNetwork,
          Driver: 'bridge',
          Labels: { 'com.claudecode-api.managed': 'true' },
        },
      },
      {
        what: 'volume create',
        method: 'POST',
        path: `/volumes/create?Name=${prefix}config`,
        body: { Name: `${prefix}config`, Labels: { 'com.claudecode-api.managed': 'true' } },
      },
      {
        what: 'container create, current shape',
        method: 'POST',
        path: `/containers/create?name=${own}&Image=${encodeURIComponent(AGENT_IMAGE)}`,
        body: currentShape(own),
      },
      {
        what: 'container create, bounded shape',
        method: 'POST',
        path: `/v1.41/containers/create?name=${containerPrefix}bounded`,
        body: boundedShape(`${containerPrefix}bounded`),
      },
      {
        what: 'exec create',
        method: 'POST',
        path: `/containers/${own}/exec`,
        body: {
          Cmd: ['id', '-u'],
          Env: ['A=b'],
          User: 'node',
          WorkingDir: '/workspace',
          AttachStdin: false,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
        },
      },
      { what: 'start', method: 'POST', path: `/containers/${own}/start` },
      { what: 'stop', method: 'POST', path: `/containers/${own}/stop?t=1`, body: { t: 1 } },
    ];
    const statuses: Record<string, number> = {};
    for (const call of calls) statuses[call.what] = (await send(call)).status;
    expect(statuses).toEqual({
      'network create': 201,
      'volume create': 201,
      'container create, current shape': 201,
      'container create, bounded shape': 201,
      // The container is not running yet: the engine's answer, not the proxy's.
      'exec create': 409,
      start: 204,
      stop: 204,
    });
    expect(await listNetworks()).toEqual([agentNetwork]);
  });

  it('refuses every escape attempt with 403, and none leaves a container or volume behind', async () => {
    const attempts: Attempt[] = [];
    // Attempt i names its container `esc<i>` and its volume `esc<i>`; both are looked for after.
    const names = (index: number) => ({
      container: `${containerPrefix}esc${index}`,
      volume: `${prefix}esc${index}`,
    });
    /** A container create in the API's own shape, changed by `change`. */
    const create = (what: string, change: (body: Body) => void) => {
      const { container, volume } = names(attempts.length);
      const body = currentShape(container, volume);
      change(body);
      attempts.push({
        what,
        method: 'POST',
        path: `/v1.41/containers/create?name=${container}`,
        body,
      });
    };
    const hostConfig = (body: Body): Body => body.HostConfig as Body;
    /** The same, sent as bytes with `edit` applied to its JSON (escapes, duplicates, bytes). */
    const createRaw = (what: string, edit: (json: string) => string | Buffer) => {
      const { container, volume } = names(attempts.length);
      const body = edit(JSON.stringify(currentShape(container, volume)));
      attempts.push({
        what,
        method: 'POST',
        path: `/v1.41/containers/create?name=${container}`,
        body,
      });
    };
    const withHostConfigText = (extra: string) => (json: string) =>
      json.replace('"HostConfig":{', `"HostConfig":{${extra},`);

    // The classes.
    attempts.push({
      what: 'a named volume whose local driver options bind-mount /',
      method: 'POST',
      path: '/volumes/create',
      body: {
        Name: names(attempts.length).volume,
        Driver: 'local',
        DriverOpts: { type: 'none', o: 'bind', device: '/' },
      },
    });
    create('a volume mount whose driver options bind-mount /', (body) => {
      hostConfig(body).Mounts = [
        {
          Type: 'volume',
          Source: names(attempts.length).volume,
          Target: '/home/node/.claude',
          VolumeOptions: {
            DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/' } },
          },
        },
      ];
    });
    create("VolumesFrom naming the proxy's own container", (body) => {
      hostConfig(body).VolumesFrom = [proxyContainer.name];
    });
    create('NetworkMode host', (body) => (hostConfig(body).NetworkMode = 'host'));
    create('NetworkMode container:<proxy>', (body) => {
      hostConfig(body).NetworkMode = `container:${proxyContainer.id}`;
    });
    create('PidMode host', (body) => (hostConfig(body).PidMode = 'host'));
    create('PidMode container:<proxy>', (body) => {
      hostConfig(body).PidMode = `container:${proxyContainer.id}`;
    });
    create('SecurityOpt seccomp=unconfined', (body) => {
      hostConfig(body).SecurityOpt = ['no-new-privileges', 'seccomp=unconfined'];
    });
    create('SecurityOpt apparmor=unconfined', (body) => {
      hostConfig(body).SecurityOpt = ['apparmor=unconfined'];
    });
    create('DeviceCgroupRules', (body) => (hostConfig(body).DeviceCgroupRules = ['c *:* rwm']));
    for (const user of ['0', 'root', '0:0', 'node:0']) {
      create(`User ${JSON.stringify(user)}`, (body) => (body.User = user));
    }
    createRaw('a mount of Type "\\u0062ind" with Source /', (json) =>
      json.replace(
        /"Mounts":\[.*?\]/,
        '"Mounts":[{"Type":"\\u0062ind","Source":"/","Target":"/home/node/.claude"}]',
      ),
    );
    // Variants: keys spelled or repeated so a reader other than Go's sees another body.
    createRaw('an escaped key, "Privil\\u0065ged"', withHostConfigText('"Privil\\u0065ged":true'));
    createRaw('a lower-case key, "privileged"', withHostConfigText('"privileged":true'));
    createRaw('a duplicate User, the last "0"', (json) =>
      json.replace('"User":"node"', '"User":"node","User":"0"'),
    );
    createRaw('a case-variant duplicate, "user":"0"', (json) =>
      json.replace('"User":"node"', '"User":"node","user":"0"'),
    );
    createRaw('a second "hostconfig" object', (json) =>
      json.replace(/}$/, ',"hostconfig":{"Privileged":true,"NetworkMode":"host"}}'),
    );
    createRaw(
      '"\u017FecurityOpt" (a long s, which Go folds to s)',
      withHostConfigText('"\u017FecurityOpt":["seccomp=unconfined"]'),
    );
    createRaw(
      '"\u212AernelMemory" (a Kelvin sign, which Go folds to k)',
      withHostConfigText('"\u212AernelMemory":1'),
    );
    // Fields the shape does not list.
    create('Privileged', (body) => (hostConfig(body).Privileged = true));
    create('CapAdd SYS_ADMIN', (body) => (hostConfig(body).CapAdd = ['SYS_ADMIN']));
    create('CapDrop emptied', (body) => (hostConfig(body).CapDrop = []));
    create('Devices /dev/sda', (body) => {
      hostConfig(body).Devices = [
        { PathOnHost: '/dev/sda', PathInContainer: '/dev/sda', CgroupPermissions: 'rwm' },
      ];
    });
    create('Binds of /', (body) => (hostConfig(body).Binds = ['/:/host']));
    create('a bind mount of the Docker socket', (body) => {
      hostConfig(body).Mounts = [
        { Type: 'bind', Source: '/var/run/docker.sock', Target: '/home/node/docker.sock' },
      ];
    });
    create('IpcMode host', (body) => (hostConfig(body).IpcMode = 'host'));
    create('UsernsMode host', (body) => (hostConfig(body).UsernsMode = 'host'));
    create('UTSMode host', (body) => (hostConfig(body).UTSMode = 'host'));
    create('CgroupParent /', (body) => (hostConfig(body).CgroupParent = '/'));
    create('Runtime', (body) => (hostConfig(body).Runtime = 'runc'));
    create('Sysctls', (body) => (hostConfig(body).Sysctls = { 'net.ipv4.ip_forward': '1' }));
    create('another image', (body) => (body.Image = 'claudecode-socket-proxy:latest'));
    create("a mount of a volume outside the prefix (the API's store)", (body) => {
      hostConfig(body).Mounts = [
        { Type: 'volume', Source: `${project}_api-data`, Target: '/home/node/.claude' },
      ];
    });
    create('a tmpfs over /etc', (body) => (hostConfig(body).Tmpfs = { '/etc': '' }));
    create('a tmpfs over /tmp/../etc', (body) => (hostConfig(body).Tmpfs = { '/tmp/../etc': '' }));
    create(
      'a tmpfs with suid and dev',
      (body) => (hostConfig(body).Tmpfs = { '/tmp': 'suid,dev' }),
    );
    create('a label of another owner', (body) => {
      body.Labels = { 'com.docker.compose.project': project };
    });
    create('a Memory limit in floating point', (body) => (hostConfig(body).Memory = 1e300));
    createRaw('a PidsLimit past 64 bits', withHostConfigText('"PidsLimit":99999999999999999999'));
    // Bodies the proxy cannot read whole or one way.
    createRaw(
      'trailing data after the body',
      (json) => `${json}{"HostConfig":{"Privileged":true}}`,
    );
    createRaw('a cut-off body', (json) => json.slice(0, -20));
    // latin1 writes each character as the one byte of its code: the JSON is ASCII, 0xFF is not.
    createRaw('invalid UTF-8 in a label', (json) =>
      Buffer.from(json.replace('"dev"', '"d\xffv"'), 'latin1'),
    );
    createRaw('an unpaired surrogate escape', (json) => json.replace('"dev"', '"\\ud800"'));
    attempts.push({
      what: 'a chunked body',
      method: 'POST',
      path: `/containers/create?name=${containerPrefix}chunked`,
      body: ((json: string) => `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`)(
        JSON.stringify(currentShape(`${containerPrefix}chunked`)),
      ),
      headers: { 'Transfer-Encoding': 'chunked', 'Content-Length': '' },
    });
    attempts.push({
      what: 'a gzip-encoded body',
      method: 'POST',
      path: `/containers/create?name=${containerPrefix}gzip`,
      body: gzipSync(JSON.stringify(currentShape(`${containerPrefix}gzip`))),
      headers: { 'Content-Encoding': 'gzip' },
    });
    attempts.push({
      what: 'a form-encoded body',
      method: 'POST',
      path: `/containers/create?name=${containerPrefix}form`,
      body: JSON.stringify(currentShape(`${containerPrefix}form`)),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    // Names.
    attempts.push({
      what: 'a second, %-encoded name parameter',
      method: 'POST',
      path: `/containers/create?name=${containerPrefix}twice&n%61me=cca-esc-${id}-x`,
      body: currentShape(`${containerPrefix}twice`),
    });
    attempts.push({
      what: 'a name behind a semicolon',
      method: 'POST',
      path: `/containers/create?x=1;name=cca-foreign-${id}&name=${containerPrefix}semi`,
      body: currentShape(`${containerPrefix}semi`),
    });
    // Start and exec on the API's own container.
    for (const version of ['v1.23', 'v1.24', 'v1%2E23']) {
      attempts.push({
        what: `a start body under /${version}/`,
        method: 'POST',
        path: `/${version}/containers/${own}/start`,
        body: { Binds: ['/:/host'], Privileged: true, NetworkMode: 'host' },
      });
    }
    attempts.push({
      what: 'a start body under the current version',
      method: 'POST',
      path: `/v1.41/containers/${own}/start`,
      body: { Privileged: true },
    });
    const exec = (what: string, change: Body) =>
      attempts.push({
        what,
        method: 'POST',
        path: `/v1.41/containers/${own}/exec`,
        body: { Cmd: ['id'], User: 'node', AttachStdout: true, ...change },
      });
    exec('an exec with Privileged', { Privileged: true });
    exec('an exec as User root', { User: 'root' });
    exec('an exec as User 0:0', { User: '0:0' });
    exec('an exec with a Tty', { Tty: true });
    exec('an exec with no user (not what the API sends)', { User: undefined });
    attempts.push({
      what: 'an exec start with a body dockerode does not send',
      method: 'POST',
      path: '/v1.41/exec/0123abcd/start',
      body: { Detach: true, Tty: true },
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    // Volumes and networks.
    attempts.push({
      what: 'a volume of another driver',
      method: 'POST',
      path: '/volumes/create',
      body: { Name: `${prefix}esc-driver`, Driver: 'vieux/sshfs' },
    });
    attempts.push({
      what: 'a volume outside the prefix',
      method: 'POST',
      path: '/volumes/create',
      body: { Name: `cca-foreign-${id}` },
    });
    attempts.push({
      what: 'a network of the host driver',
      method: 'POST',
      path: '/networks/create',
      body: { Name: agentNetwork, Driver: 'host' },
    });
    attempts.push({
      what: 'another network',
      method: 'POST',
      path: '/networks/create',
      body: { Name: `${prefix}other`, Driver: 'bridge' },
    });
    // Reads that would name other containers and networks.
    attempts.push({ what: 'the unfiltered network list', method: 'GET', path: '/networks' });
    attempts.push({
      what: 'a network list that matches every name',
      method: 'GET',
      path: `/networks?filters=${encodeURIComponent('{"name":[""]}')}`,
    });
    attempts.push({ what: 'unfiltered events', method: 'GET', path: '/events' });
    attempts.push({
      what: 'events whose label filter is emptied by a duplicate key',
      method: 'GET',
      path: `/events?filters=${encodeURIComponent(
        '{"label":["com.claudecode-api.managed=true"],"label":[]}',
      )}`,
    });
    attempts.push({
      what: 'another image inspected',
      method: 'GET',
      path: '/images/claudecode-socket-proxy:latest/json',
    });

    expect(attempts.length).toBeGreaterThanOrEqual(30);
    const outcomes = [];
    for (const [index, attempt] of attempts.entries()) {
      const { status, reply } = await send(attempt);
      // Every name the attempt could have made a container or a volume under.
      const { container, volume } = names(index);
      const queryNames = [...attempt.path.matchAll(/name=([^&;]*)/g)].map((match) => match[1]);
      const bodyName = (attempt.body as { Name?: unknown } | undefined)?.Name;
      const volumeNames = typeof bodyName === 'string' ? [volume, bodyName] : [volume];
      const leftBehind = [
        ...[...new Set([container, ...queryNames])].filter((name) => exists('container', name)),
        ...[...new Set(volumeNames)].filter((name) => exists('volume', name)),
      ];
      outcomes.push({
        what: attempt.what,
        status,
        fromProxy: reply.includes('refused by the socket proxy'),
        leftBehind,
      });
    }
    expect(outcomes).toEqual(
      attempts.map(({ what }) => ({ what, status: 403, fromProxy: true, leftBehind: [] })),
    );
  });
});
