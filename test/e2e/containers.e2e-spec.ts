import {
  AGENT_CONFIG_DIR,
  AGENT_CREDENTIALS_DIR,
  AGENT_PROJECTS_DIR,
} from '../../src/agent/agent-layout';
import { ContainerStatusDto } from '../../src/containers/dto/container-status.dto';
import { CLAUDE_CODE_VERSION } from '../../src/common/config/environment-variables';
import { dockerCli, inspectJson, removeDockerObjects } from '../support/docker-cli';
import { envParams, startTestApp, TestApp } from '../support/test-app';

interface DockerInspect {
  Config: { User: string; WorkingDir: string; Labels: Record<string, string> };
  HostConfig: {
    RestartPolicy: { Name: string };
    NetworkMode: string;
    ReadonlyRootfs: boolean;
    Tmpfs: Record<string, string>;
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    CpuShares: number;
    CapDrop: string[];
    SecurityOpt: string[];
    Ulimits: { Name: string; Soft: number; Hard: number }[];
  };
  Mounts: { Type: string; Name: string; Destination: string }[];
}

const dev = envParams('dev');

describe('containers (real engine)', () => {
  let t: TestApp;
  let name: string;

  beforeAll(async () => {
    t = await startTestApp({
      ENVIRONMENTS: 'dev,staging',
      AGENT_LIMITS: 'memory=512m,cpus=0.5,pids=128,nofile=1024,tmp=32m,cpuShares=256',
    });
    name = `${t.config.agent.containerPrefix}dev`;
  });

  afterAll(async () => {
    await t.close();
    removeDockerObjects(t.config.agent.containerPrefix);
  });

  type Status = Pick<ContainerStatusDto, 'exists' | 'running' | 'state'>;

  /**
   * The kept state is never read again on its own, so only Docker's events can make the status
   * follow a change made behind the service's back. They take milliseconds; the margin is for a
   * loaded machine.
   */
  const FOLLOW_MS = 10_000;

  /** Polls the status route until `holds`, failing when that takes longer than `withinMs`. */
  async function statusWithin(withinMs: number, holds: (status: Status) => boolean) {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const { data } = await t.client.GET('/api/containers/{env}', dev);
      if (data && holds(data)) return;
      if (Date.now() > deadline) {
        throw new Error(`the status did not follow within ${withinMs} ms: ${JSON.stringify(data)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('reports a missing container before the first start', async () => {
    const res = await t.client.GET('/api/containers/{env}', dev);
    expect(res.response.status).toBe(200);
    expect(res.data).toEqual({
      env: 'dev',
      name,
      host: 'local',
      exists: false,
      running: false,
      state: 'missing',
      image: t.config.agent.image,
      startedAt: null,
      createdAt: null,
      auth: { method: 'none' },
      managed: true,
      settingsHash: null,
      matchesSettings: null,
      limits: {
        memoryBytes: 512 * 1024 ** 2,
        cpus: 0.5,
        pids: 128,
        nofile: 1024,
        tmpBytes: 32 * 1024 ** 2,
        cpuShares: 256,
      },
      idleSince: null,
      idleStopAt: null,
    });
  });

  it('creates the container on the first start, as a non-root user with volumes and labels', async () => {
    const res = await t.client.POST('/api/containers/{env}/start', dev);
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({
      env: 'dev',
      name,
      exists: true,
      running: true,
      state: 'running',
    });
    expect(Date.parse(res.data?.startedAt ?? '')).not.toBeNaN();

    const inspect = inspectJson<DockerInspect>(name);
    expect(inspect.Config.User).toBe('node');
    expect(inspect.Config.WorkingDir).toBe('/workspace');
    expect(inspect.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(inspect.HostConfig.NetworkMode).toBe('host');
    expect(inspect.Config.Labels).toMatchObject({
      'com.claudecode-api.managed': 'true',
      'com.claudecode-api.env': 'dev',
    });
    const prefix = t.config.agent.volumePrefix;
    expect(
      inspect.Mounts.map((mount) => [mount.Type, mount.Name, mount.Destination]).sort(),
    ).toEqual(
      [
        ['volume', `${prefix}config-dev`, AGENT_CONFIG_DIR],
        ['volume', `${prefix}credentials`, AGENT_CREDENTIALS_DIR],
        ['volume', `${prefix}sessions-dev`, AGENT_PROJECTS_DIR],
        ['volume', `${prefix}workspace-dev`, '/workspace'],
      ].sort(),
    );
  });

  it('bounds the container: limits, read-only root with a /tmp tmpfs, no capabilities', async () => {
    const { HostConfig } = inspectJson<DockerInspect>(name);
    expect(HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=32m' },
      Memory: 512 * 1024 ** 2,
      MemorySwap: 512 * 1024 ** 2,
      NanoCpus: 500_000_000,
      PidsLimit: 128,
      CpuShares: 256,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
    });
    const write = (path: string) =>
      t.docker.exec(name, { cmd: ['sh', '-c', `echo x > ${path}`] }).then((r) => r.exitCode);
    expect(await write('/usr/local/bin/planted')).not.toBe(0);
    expect(await write('/home/node/planted')).not.toBe(0);
    expect(await write('/tmp/scratch')).toBe(0);
    expect(await write('/workspace/scratch')).toBe(0);
    expect((await t.docker.exec(name, { cmd: ['sh', '-c', 'ulimit -n'] })).stdout.trim()).toBe(
      '1024',
    );
    expect((await t.client.GET('/api/containers/{env}', dev)).data).toMatchObject({
      matchesSettings: true,
      settingsHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      limits: { memoryBytes: 512 * 1024 ** 2, cpus: 0.5, pids: 128, tmpBytes: 32 * 1024 ** 2 },
    });
  });

  it('starts twice and stops twice with 2xx each time', async () => {
    const again = await t.client.POST('/api/containers/{env}/start', dev);
    expect(again.response.status).toBe(200);
    expect(again.data).toMatchObject({ running: true });

    const stopped = await t.client.POST('/api/containers/{env}/stop', dev);
    expect(stopped.response.status).toBe(200);
    expect(stopped.data).toMatchObject({ exists: true, running: false, state: 'exited' });
    const stoppedAgain = await t.client.POST('/api/containers/{env}/stop', dev);
    expect(stoppedAgain.response.status).toBe(200);
    expect(stoppedAgain.data).toMatchObject({ running: false });

    const restarted = await t.client.POST('/api/containers/{env}/start', dev);
    expect(restarted.data).toMatchObject({ running: true });
  });

  it('stops an environment whose container was never created without error', async () => {
    const res = await t.client.POST('/api/containers/{env}/stop', envParams('staging'));
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({ env: 'staging', exists: false, state: 'missing' });
  });

  it('runs the pinned Claude Code CLI through DockerService as the node user', async () => {
    const version = await t.docker.exec(name, { cmd: ['claude', '--version'] });
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toContain(CLAUDE_CODE_VERSION);
    const whoami = await t.docker.exec(name, { cmd: ['id', '-un'] });
    expect(whoami.stdout.trim()).toBe('node');
  });

  it('passes stdin and argv literally, and reports a non-zero exit code', async () => {
    const echoed = await t.docker.exec(name, { cmd: ['cat'], stdin: 'a $(touch /tmp/x) `b`' });
    expect(echoed.stdout).toBe('a $(touch /tmp/x) `b`');
    const failed = await t.docker.exec(name, { cmd: ['sh', '-c', 'echo oops >&2; exit 3'] });
    expect(failed).toEqual({ exitCode: 3, stdout: '', stderr: 'oops\n' });
  });

  it('keeps credentials, config and transcripts when the container is re-created', async () => {
    const files = [
      `${AGENT_CREDENTIALS_DIR}/.credentials.json`,
      `${AGENT_CONFIG_DIR}/.claude.json`,
      `${AGENT_PROJECTS_DIR}/-workspace/00000000-0000-4000-8000-000000000000.jsonl`,
    ];
    const write = files
      .map((file) => `mkdir -p "$(dirname ${file})" && echo kept > ${file}`)
      .join(' && ');
    expect((await t.docker.exec(name, { cmd: ['sh', '-c', write] })).exitCode).toBe(0);

    // Removed behind the service's back: the status follows through Docker's events.
    await t.docker.removeContainer(name);
    await statusWithin(FOLLOW_MS, (status) => status.exists === false);
    expect((await t.client.POST('/api/containers/{env}/start', dev)).data).toMatchObject({
      running: true,
    });

    const read = await t.docker.exec(name, { cmd: ['cat', ...files] });
    expect(read.stdout).toBe('kept\nkept\nkept\n');
    // The CLI finds its credentials file where it looks for it.
    const linked = await t.docker.exec(name, {
      cmd: ['cat', `${AGENT_CONFIG_DIR}/.credentials.json`],
    });
    expect(linked.stdout).toBe('kept\n');
    // A `claude login` file in the credentials volume counts as the agent's auth.
    expect((await t.client.GET('/api/containers/{env}', dev)).data).toMatchObject({
      auth: { method: 'credentials_file' },
    });
  });

  it("reads a stop and a start made with the docker CLI from Docker's events", async () => {
    dockerCli('stop', '-t', '1', name);
    await statusWithin(
      FOLLOW_MS,
      (status) => status.running === false && status.state === 'exited',
    );
    dockerCli('start', name);
    await statusWithin(FOLLOW_MS, (status) => status.running === true);
  });

  it('answers 404 ENV_NOT_FOUND for an environment that is not configured', async () => {
    for (const res of [
      await t.client.GET('/api/containers/{env}', envParams('prod')),
      await t.client.POST('/api/containers/{env}/start', envParams('nope')),
      // Sent as `..%2F..%2Fetc`: one path segment.
      await t.client.POST('/api/containers/{env}/stop', envParams('../../etc')),
    ]) {
      expect(res.response.status).toBe(404);
      expect(res.error).toMatchObject({ statusCode: 404, code: 'ENV_NOT_FOUND' });
    }
  });

  it('creates with POST (409 when it exists), removes with DELETE (404 when gone), keeping the volumes', async () => {
    const staging = envParams('staging');
    const stagingName = `${t.config.agent.containerPrefix}staging`;
    const created = await t.client.POST('/api/containers/{env}', staging);
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ exists: true, running: true, managed: true });
    const again = await t.client.POST('/api/containers/{env}', staging);
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ code: 'CONTAINER_EXISTS' });
    dockerCli('exec', stagingName, 'sh', '-c', 'echo kept > /workspace/kept.txt');

    const removed = await t.client.DELETE('/api/containers/{env}', staging);
    expect(removed.response.status).toBe(200);
    expect(removed.data).toMatchObject({ exists: false, running: false, state: 'missing' });
    expect(dockerCli('ps', '-aq', '--filter', `name=^${stagingName}$`).trim()).toBe('');
    const gone = await t.client.DELETE('/api/containers/{env}', staging);
    expect(gone.response.status).toBe(404);
    expect(gone.error).toMatchObject({ code: 'CONTAINER_NOT_FOUND' });

    // The volumes stayed: created again, the container finds its workspace.
    expect((await t.client.POST('/api/containers/{env}', staging)).response.status).toBe(201);
    expect(dockerCli('exec', stagingName, 'cat', '/workspace/kept.txt')).toBe('kept\n');
    expect((await t.client.DELETE('/api/containers/{env}', staging)).response.status).toBe(200);
  });

  it('never adopts a container of its name that it did not make: 409 CONTAINER_NOT_MANAGED', async () => {
    const staging = envParams('staging');
    const stagingName = `${t.config.agent.containerPrefix}staging`;
    // Someone else's container, stopped, made from other settings: a start once re-created it.
    const id = dockerCli(
      'create',
      '--name',
      stagingName,
      '--network',
      'none',
      t.config.agent.image,
      'sleep',
      'infinity',
    ).trim();
    try {
      const refusals = [
        await t.client.POST('/api/containers/{env}/start', staging),
        await t.client.POST('/api/containers/{env}/stop', staging),
        await t.client.POST('/api/containers/{env}', staging),
        await t.client.DELETE('/api/containers/{env}', staging),
        await t.client.POST('/api/execute', { body: { env: 'staging', prompt: 'hello' } }),
      ];
      for (const res of refusals) {
        expect(res.response.status).toBe(409);
        expect(res.error).toMatchObject({ code: 'CONTAINER_NOT_MANAGED' });
        expect(res.error?.message).toContain(
          `The container ${stagingName} was not created by this service`,
        );
      }
      // Seen by the first of them (Docker's events of containers without the label are not
      // followed: the socket proxy allows only the service's own), and reported by the status.
      const status = await t.client.GET('/api/containers/{env}', staging);
      expect(status.data).toMatchObject({ exists: true, running: false, managed: false });
      // Left as it was: the same container, never started.
      expect(dockerCli('inspect', '-f', '{{.Id}} {{.State.Status}}', stagingName).trim()).toBe(
        `${id} created`,
      );
    } finally {
      dockerCli('rm', '-f', stagingName);
    }
  });
});
