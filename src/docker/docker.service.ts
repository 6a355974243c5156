import { Inject, Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { DockerConnection } from '../common/config/docker-hosts';
import { METRIC_PREFIX, Metrics } from '../common/metrics/metrics';
import {
  DockerConflictError,
  DockerNotFoundError,
  DockerOperationError,
  DockerTimeoutError,
  DockerUnavailableError,
} from './docker.errors';
import { DockerProcess } from './docker-process';
import { asReadable, pathStatOf } from './docker-archive';
import {
  ContainerInfo,
  ContainerSpec,
  ContainerState,
  DockerEvent,
  EventWatch,
  ExecOptions,
  ExecResult,
  PathStat,
  SpawnOptions,
} from './docker.types';

/** Errors of the transport, not of the engine: Docker is down or unreachable. */
const UNAVAILABLE_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EACCES',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface CallOptions {
  notModifiedIsSuccess?: boolean;
  notFoundIsNull?: boolean;
  timeoutMs?: number;
}

/** The environment variable that tags every process of one run inside a container. */
export const RUN_MARKER = 'CLAUDECODE_API_RUN_ID';

// Both scripts get their inputs as arguments ($1 marker, $2 signal), never spliced into the text.
const FIND_RUN_PIDS = `for dir in /proc/[0-9]*; do
  tr '\\0' '\\n' < "$dir/environ" 2>/dev/null | grep -qxF "$1" && echo "\${dir#/proc/}"
done`;
const SIGNAL_RUN_SCRIPT = `pids=$(${FIND_RUN_PIDS}); [ -z "$pids" ] || kill -s "$2" $pids 2>/dev/null; exit 0`;
// $1 a marker prefix, $2 a longer prefix whose processes are spared, $3 the signal.
const SIGNAL_MARKED_SCRIPT = `pids=$(for dir in /proc/[0-9]*; do
  marker=$(tr '\\0' '\\n' < "$dir/environ" 2>/dev/null | grep -m1 "^${RUN_MARKER}=")
  case "$marker" in "${RUN_MARKER}=$2"*) ;; "${RUN_MARKER}=$1"*) echo "\${dir#/proc/}" ;; esac
done); [ -z "$pids" ] || kill -s "$3" $pids 2>/dev/null; exit 0`;

/** Networks Docker always has; they are never created. */
const BUILTIN_NETWORKS = new Set(['host', 'bridge', 'none']);

/** One engine of the pool (DOCKER_HOSTS), with its own client. */
interface DockerHost {
  readonly name: string;
  readonly client: Docker;
}

/**
 * Tells on which host of the pool an agent container lives (or will); it fails (DOCKER_UNAVAILABLE)
 * rather than guess. The containers module, which places environments, provides it.
 */
export type ContainerRouter = (containerName: string) => Promise<string>;

/** A container's memory limit as the engine holds it (0: none). */
export interface ContainerMemory {
  readonly name: string;
  readonly memoryBytes: number;
}

/**
 * The only code that talks to Docker. Thin, typed methods over dockerode that return this
 * project's types and translate the engine's failures into this project's errors. No business
 * logic lives here.
 */
@Injectable()
export class DockerService {
  private readonly logger = new Logger(DockerService.name);
  private readonly hosts: ReadonlyMap<string, DockerHost>;
  /** The pool's only host, when it has one: every call goes there, as before the pool. */
  private readonly onlyHost: DockerHost | null;
  private router?: ContainerRouter;
  private readonly timeoutMs: number;

  private readonly errors;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: Metrics) {
    this.hosts = new Map(
      config.docker.hosts.map((host) => [
        host.name,
        { name: host.name, client: new Docker(connectionOptions(host.connection)) },
      ]),
    );
    this.onlyHost = this.hosts.size === 1 ? [...this.hosts.values()][0] : null;
    this.timeoutMs = config.docker.timeoutMs;
    this.errors = metrics.counter({
      name: `${METRIC_PREFIX}docker_errors_total`,
      help: 'Docker calls that failed: the engine unreachable, past DOCKER_TIMEOUT_MS, or any other error (404 and 409 are answers, not counted)',
      labelNames: ['operation', 'kind'] as const,
    });
  }

  /** The pool's hosts by name, in pool order. */
  hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  /**
   * Sets how calls that name a container find its host. Until then, with more than one host,
   * they fail: no call goes to a host by default.
   */
  routeContainersWith(router: ContainerRouter): void {
    this.router = router;
  }

  async ping(hostName: string): Promise<void> {
    const host = this.host(hostName);
    await this.call('ping', host, () => host.client.ping());
  }

  /** The id of the image a reference names, or null when the engine does not have it. */
  async imageId(hostName: string, reference: string): Promise<string | null> {
    const host = this.host(hostName);
    const image = await this.call(
      'inspect the image',
      host,
      () => host.client.getImage(reference).inspect(),
      { notFoundIsNull: true },
    );
    return image?.Id ?? null;
  }

  /** The engine's memory (`docker info` MemTotal) in bytes. */
  async hostMemoryBytes(hostName: string): Promise<number> {
    const host = this.host(hostName);
    const info = (await this.call('read the engine info', host, () => host.client.info())) as {
      MemTotal?: unknown;
    };
    return typeof info.MemTotal === 'number' ? info.MemTotal : 0;
  }

  /** The memory limit of each container on the host that carries `label` (`key=value`). */
  async containerMemoryLimits(hostName: string, label: string): Promise<ContainerMemory[]> {
    const host = this.host(hostName);
    const listed = await this.call('list the containers', host, () =>
      host.client.listContainers({ all: true, filters: { label: [label] } }),
    );
    const limits = await Promise.all(
      listed.map((container) =>
        this.call(
          'inspect the container',
          host,
          () => host.client.getContainer(container.Id).inspect(),
          { notFoundIsNull: true },
        ),
      ),
    );
    return limits
      .filter((info) => info !== null)
      .map((info) => ({
        name: info.Name.replace(/^\//, ''),
        memoryBytes: info.HostConfig.Memory ?? 0,
      }));
  }

  /** Whether the host has a container of that name. */
  async containerExistsOn(hostName: string, name: string): Promise<boolean> {
    return (await this.inspectOn(this.host(hostName), name)) !== null;
  }

  /** Whether the host has a volume of that name. */
  async volumeExistsOn(hostName: string, name: string): Promise<boolean> {
    const host = this.host(hostName);
    const volume = await this.call(
      'inspect the volume',
      host,
      () => host.client.getVolume(name).inspect(),
      { notFoundIsNull: true },
    );
    return volume !== null;
  }

  /** The container's state, or null when there is no container of that name. */
  async inspectContainer(name: string): Promise<ContainerInfo | null> {
    return this.inspectOn(await this.hostOfContainer(name), name);
  }

  private async inspectOn(host: DockerHost, name: string): Promise<ContainerInfo | null> {
    const info = await this.call(
      'inspect the container',
      host,
      () => host.client.getContainer(name).inspect(),
      { notFoundIsNull: true },
    );
    if (info === null) return null;
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      state: info.State.Status as ContainerState,
      running: info.State.Running,
      image: info.Config.Image,
      createdAt: info.Created,
      startedAt: isDockerZeroTime(info.State.StartedAt) ? null : info.State.StartedAt,
      labels: info.Config.Labels ?? {},
    };
  }

  /** Creates the container; false when one of that name exists already. */
  async createContainer(spec: ContainerSpec): Promise<boolean> {
    const host = await this.hostOfContainer(spec.name);
    try {
      await this.call('create the container', host, () =>
        host.client.createContainer(containerCreateBody(spec)),
      );
      return true;
    } catch (error) {
      if (error instanceof DockerConflictError) return false;
      throw error;
    }
  }

  /** Starts the container; a container that is already running is fine. */
  async startContainer(name: string): Promise<void> {
    const host = await this.hostOfContainer(name);
    await this.call('start the container', host, () => host.client.getContainer(name).start(), {
      notModifiedIsSuccess: true,
    });
  }

  /** Stops the container; one that is already stopped is fine. */
  async stopContainer(name: string, graceSeconds: number): Promise<void> {
    const host = await this.hostOfContainer(name);
    await this.call(
      'stop the container',
      host,
      () => host.client.getContainer(name).stop({ t: graceSeconds }),
      { notModifiedIsSuccess: true, timeoutMs: this.timeoutMs + graceSeconds * 1000 },
    );
  }

  /** Removes the container (volumes stay); a missing container is fine. */
  async removeContainer(name: string): Promise<void> {
    const host = await this.hostOfContainer(name);
    await this.call(
      'remove the container',
      host,
      () => host.client.getContainer(name).remove({ force: true }),
      { notFoundIsNull: true },
    );
  }

  /** Creates a bridge network unless it exists (or is one of Docker's built-in ones). */
  async ensureNetwork(
    hostName: string,
    name: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void> {
    if (BUILTIN_NETWORKS.has(name)) return;
    const host = this.host(hostName);
    const existing = await this.call('list networks', host, () =>
      host.client.listNetworks({ filters: { name: [name] } }),
    );
    if (existing.some((network) => network.Name === name)) return;
    try {
      await this.call('create the network', host, () =>
        host.client.createNetwork({ Name: name, Driver: 'bridge', Labels: { ...labels } }),
      );
    } catch (error) {
      if (!(error instanceof DockerConflictError)) throw error;
    }
  }

  /** Creates a named volume with labels; Docker returns the existing one when it is there. */
  async ensureVolume(
    hostName: string,
    name: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void> {
    const host = this.host(hostName);
    await this.call('create the volume', host, () =>
      host.client.createVolume({ Name: name, Labels: { ...labels } }),
    );
  }

  async removeVolume(hostName: string, name: string): Promise<void> {
    const host = this.host(hostName);
    await this.call('remove the volume', host, () => host.client.getVolume(name).remove(), {
      notFoundIsNull: true,
    });
  }

  /** Runs a process in a running container to its end and collects its output. */
  async exec(containerName: string, options: ExecOptions): Promise<ExecResult> {
    const withStdin = options.stdin !== undefined;
    const { host, exec, stream } = await this.startExec(containerName, options, withStdin);
    const stdout = collect();
    const stderr = collect();
    this.demux(stream, stdout.sink, stderr.sink);
    const ended = new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    if (withStdin) stream.end(options.stdin);
    try {
      await ended;
    } catch (error) {
      throw this.translate(error, 'read the exec output', host);
    }
    const { ExitCode } = await this.call('inspect the exec', host, () => exec.inspect());
    return { exitCode: ExitCode ?? -1, stdout: stdout.text(), stderr: stderr.text() };
  }

  /** Creates and starts an exec with its output attached (and stdin when asked). */
  private async startExec(
    containerName: string,
    options: Pick<ExecOptions, 'cmd' | 'user' | 'workdir'> & {
      env?: Readonly<Record<string, string | undefined>>;
    },
    withStdin: boolean,
  ): Promise<{ host: DockerHost; exec: Docker.Exec; stream: Duplex }> {
    const host = await this.hostOfContainer(containerName);
    const exec = await this.call('create the exec', host, () =>
      host.client.getContainer(containerName).exec({
        Cmd: [...options.cmd],
        Env: envList(options.env),
        User: options.user,
        WorkingDir: options.workdir,
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      }),
    );
    const stream = await this.call('start the exec', host, () =>
      exec.start({ hijack: true, stdin: withStdin }),
    );
    return { host, exec, stream };
  }

  /**
   * Starts a process in a running container and returns at once, ChildProcess-style (see
   * `DockerProcess`). The process and everything it starts carry `RUN_MARKER=<runId>` in
   * their environment, which is how `kill()` finds them inside the container.
   */
  spawn(containerName: string, options: SpawnOptions): DockerProcess {
    let started: { host: DockerHost; exec: Docker.Exec } | undefined;
    return new DockerProcess({
      start: async () => {
        const exec = await this.startExec(
          containerName,
          { ...options, env: { ...options.env, [RUN_MARKER]: options.runId } },
          true,
        );
        started = exec;
        return exec.stream;
      },
      demux: (stream, stdout, stderr) => this.demux(stream, stdout, stderr),
      exitCode: async () => {
        const exec = started;
        if (!exec) return null;
        return (await this.call('inspect the exec', exec.host, () => exec.exec.inspect())).ExitCode;
      },
      signal: (signal) => this.signalRun(containerName, options.runId, signal, options.user),
    });
  }

  /** Sends a signal to every process of a run inside the container. */
  async signalRun(
    containerName: string,
    runId: string,
    signal: NodeJS.Signals,
    user: string,
  ): Promise<void> {
    await this.runSignalScript(
      containerName,
      user,
      SIGNAL_RUN_SCRIPT,
      [`${RUN_MARKER}=${runId}`],
      signal,
    );
  }

  /**
   * Sends a signal to every process whose run marker starts with `prefix`, except those whose
   * marker starts with `spared` (a longer prefix).
   */
  async signalMarked(
    containerName: string,
    prefix: string,
    spared: string,
    signal: NodeJS.Signals,
    user: string,
  ): Promise<void> {
    await this.runSignalScript(containerName, user, SIGNAL_MARKED_SCRIPT, [prefix, spared], signal);
  }

  /** One of the signal scripts: its inputs, then the signal without its SIG, as arguments. */
  private async runSignalScript(
    containerName: string,
    user: string,
    script: string,
    inputs: string[],
    signal: NodeJS.Signals,
  ): Promise<void> {
    await this.exec(containerName, {
      cmd: ['sh', '-c', script, 'signal', ...inputs, signal.replace(/^SIG/, '')],
      user,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Files, through the archive API: it reads stopped containers too, volumes included, and
  // needs no process inside. 404 (no such container or no such path) is null.

  /** What is at a path in the container, or null when the container or the path is missing. */
  async statPath(containerName: string, path: string): Promise<PathStat | null> {
    const host = await this.hostOfContainer(containerName);
    return this.call(
      'stat a path in the container',
      host,
      async () => pathStatOf(await host.client.getContainer(containerName).infoArchive({ path })),
      { notFoundIsNull: true },
    );
  }

  /**
   * Streams the tar archive of a path to `consume`; null when the container or the path is
   * missing. A read that outlives DOCKER_TIMEOUT_MS (or `deadlineMs`) is destroyed, not left
   * streaming, and fails with DOCKER_TIMEOUT.
   */
  async readArchive<T>(
    operation: string,
    containerName: string,
    path: string,
    consume: (archive: Readable) => Promise<T>,
    deadlineMs = this.timeoutMs,
  ): Promise<T | null> {
    const host = await this.hostOfContainer(containerName);
    const archive = await this.call(
      operation,
      host,
      async () => asReadable(await host.client.getContainer(containerName).getArchive({ path })),
      { notFoundIsNull: true },
    );
    if (archive === null) return null;
    return this.consumeStream(operation, host, archive, consume, deadlineMs);
  }

  /**
   * Runs a process in a running container and streams its stdout to `consume`; the process's
   * stderr and exit code are ignored. Like `readArchive`, bounded by a deadline.
   */
  async readExecOutput<T>(
    operation: string,
    containerName: string,
    options: Pick<ExecOptions, 'cmd' | 'user'>,
    consume: (stdout: Readable) => Promise<T>,
    deadlineMs = this.timeoutMs,
  ): Promise<T> {
    const { host, stream } = await this.startExec(containerName, options, false);
    const stdout = new PassThrough();
    this.demux(stream, stdout, new PassThrough().resume());
    stream.once('end', () => stdout.end());
    stream.once('close', () => stdout.end());
    stream.once('error', (error) => stdout.destroy(error));
    try {
      return await this.consumeStream(operation, host, stdout, consume, deadlineMs);
    } finally {
      stream.destroy();
    }
  }

  /**
   * Follows the engine's events that match `filters` (Docker's event filter syntax), calling
   * `onEvent` with each. The returned handle stops it; `ended` settles when the stream ends for
   * any reason (the engine went away, a proxy timed it out, or `stop`).
   */
  async watchEvents(
    hostName: string,
    filters: Record<string, string[]>,
    onEvent: (event: DockerEvent) => void,
  ): Promise<EventWatch> {
    const host = this.host(hostName);
    const stream = await this.call('follow the events', host, async () =>
      asReadable(await host.client.getEvents({ filters })),
    );
    const ended = new Promise<void>((resolve) => {
      stream.once('close', resolve);
      stream.once('end', resolve);
      stream.once('error', () => resolve());
    });
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const event = parseEvent(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (event) onEvent(event);
        newline = pending.indexOf('\n');
      }
    });
    return { stop: () => stream.destroy(), ended };
  }

  private async consumeStream<T>(
    operation: string,
    host: DockerHost,
    stream: Readable,
    consume: (stream: Readable) => Promise<T>,
    deadlineMs: number,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stream.destroy();
        reject(this.timedOut(operation));
      }, deadlineMs);
    });
    try {
      return await Promise.race([consume(stream), deadline]);
    } catch (error) {
      if (error instanceof DockerTimeoutError) throw error;
      throw this.translate(error, operation, host);
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
  }

  /**
   * Runs one engine call with a deadline and maps its failure to this project's errors. With
   * `notModifiedIsSuccess`, Docker's 304 (already started/stopped) counts as done; with
   * `notFoundIsNull`, its 404 (no such object) is null.
   */
  private call<T>(
    operation: string,
    host: DockerHost,
    run: () => Promise<T>,
    options: CallOptions & { notFoundIsNull: true },
  ): Promise<T | null>;
  private call<T>(
    operation: string,
    host: DockerHost,
    run: () => Promise<T>,
    options?: CallOptions,
  ): Promise<T>;
  private async call<T>(
    operation: string,
    host: DockerHost,
    run: () => Promise<T>,
    options: CallOptions = {},
  ): Promise<T | null> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timedOut(operation)), timeoutMs);
    });
    try {
      return await Promise.race([run(), deadline]);
    } catch (error) {
      if (error instanceof DockerTimeoutError) throw error;
      const status = statusCodeOf(error);
      if (options.notModifiedIsSuccess && status === 304) return undefined as T;
      if (options.notFoundIsNull && status === 404) return null;
      throw this.translate(error, operation, host);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The engine a container lives on: the pool's only one, or the one its router names. */
  private async hostOfContainer(containerName: string): Promise<DockerHost> {
    if (this.onlyHost) return this.onlyHost;
    if (!this.router) {
      throw new Error(`No route to the host of ${containerName}: the container router is not set`);
    }
    return this.host(await this.router(containerName));
  }

  private host(name: string): DockerHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`No Docker host "${name}" in the pool`);
    return host;
  }

  /** Splits Docker's stdout/stderr framing; it talks to no engine, so any client's modem does. */
  private demux(stream: Duplex, stdout: PassThrough, stderr: PassThrough): void {
    const [first] = this.hosts.values();
    first.client.modem.demuxStream(stream, stdout, stderr);
  }

  private translate(error: unknown, operation: string, host: DockerHost): Error {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) {
      this.logger.warn(
        `Docker host ${host.name} unavailable while trying to ${operation}: ${code}`,
      );
      this.errors.inc({ operation, kind: 'unavailable' });
      // With one engine the message stays as it was; in a pool it says which host is down.
      return new DockerUnavailableError(this.onlyHost ? undefined : host.name);
    }
    const status = statusCodeOf(error);
    if (status === 404) return new DockerNotFoundError(operation);
    if (status === 409) return new DockerConflictError(operation);
    this.logger.error(
      `Docker failed to ${operation}: ${String((error as Error | null)?.message ?? error)}`,
    );
    this.errors.inc({ operation, kind: 'error' });
    return new DockerOperationError(operation);
  }

  private timedOut(operation: string): DockerTimeoutError {
    this.errors.inc({ operation, kind: 'timeout' });
    return new DockerTimeoutError(operation);
  }
}

/**
 * The engine's create body for a spec, and nothing else: the socket proxy lets exactly this shape
 * through (docker/socket-proxy). Exported so a container's settings hash covers all of it.
 */
export function containerCreateBody(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const { resources } = spec;
  return {
    name: spec.name,
    Image: spec.image,
    User: spec.user,
    WorkingDir: spec.workdir,
    Labels: { ...spec.labels },
    HostConfig: {
      NetworkMode: spec.network,
      RestartPolicy: { Name: 'unless-stopped' },
      // Reaps the CLI processes that execs leave behind when they are killed.
      Init: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: Object.fromEntries(
        Object.entries(spec.tmpfs).map(([path, mib]) => [path, `rw,nosuid,nodev,size=${mib}m`]),
      ),
      Memory: resources.memoryBytes,
      // Equal to Memory: no swap on top.
      MemorySwap: resources.memoryBytes,
      NanoCpus: resources.nanoCpus,
      PidsLimit: resources.pidsLimit,
      CpuShares: resources.cpuShares,
      Ulimits: [{ Name: 'nofile', Soft: resources.nofile, Hard: resources.nofile }],
      Mounts: spec.mounts.map((mount) => ({
        Type: 'volume' as const,
        Source: mount.volume,
        Target: mount.target,
      })),
    },
  };
}

function parseEvent(line: string): DockerEvent | null {
  try {
    const raw = JSON.parse(line) as {
      Type?: unknown;
      Action?: unknown;
      Actor?: { ID?: unknown; Attributes?: Record<string, string> };
    };
    if (typeof raw.Action !== 'string') return null;
    return {
      type: typeof raw.Type === 'string' ? raw.Type : '',
      action: raw.Action,
      id: typeof raw.Actor?.ID === 'string' ? raw.Actor.ID : '',
      attributes: raw.Actor?.Attributes ?? {},
    };
  } catch {
    return null;
  }
}

function connectionOptions(connection: DockerConnection): Docker.DockerOptions {
  switch (connection.kind) {
    case 'socket':
      return { socketPath: connection.socketPath };
    case 'tcp': {
      const { tls } = connection;
      return {
        protocol: connection.protocol,
        host: connection.host,
        port: connection.port,
        ...(tls
          ? {
              ca: readFileSync(tls.caPath),
              cert: readFileSync(tls.certPath),
              key: readFileSync(tls.keyPath),
            }
          : {}),
      };
    }
    case 'ssh':
      return {
        protocol: 'ssh',
        host: connection.host,
        port: connection.port,
        username: connection.username,
        sshOptions: connection.agentSocket ? { agent: connection.agentSocket } : {},
      };
  }
}

function envList(env: Readonly<Record<string, string | undefined>> | undefined): string[] {
  return Object.entries(env ?? {})
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${value}`);
}

function statusCodeOf(error: unknown): number | undefined {
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** Docker reports "never" as year 1. */
function isDockerZeroTime(time: string): boolean {
  return time.startsWith('0001-01-01');
}

function collect(): { sink: PassThrough; text: () => string } {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { sink, text: () => Buffer.concat(chunks).toString('utf8') };
}
