import { Inject, Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { Duplex, PassThrough } from 'node:stream';
import { APP_CONFIG, AppConfig, DockerConnectionConfig } from '../common/config/app-config';
import {
  DockerConflictError,
  DockerNotFoundError,
  DockerOperationError,
  DockerUnavailableError,
} from './docker.errors';
import { DockerProcess } from './docker-process';
import { asReadable, pathStatOf, readDirectoryEntries, readSingleFile } from './docker-archive';
import {
  ArchiveEntry,
  ContainerInfo,
  ContainerSpec,
  ContainerState,
  ExecOptions,
  ExecResult,
  FileContent,
  PathStat,
  ReadDirectoryOptions,
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
  'DOCKER_TIMEOUT',
]);

/** The environment variable that tags every process of one run inside a container. */
export const RUN_MARKER = 'CLAUDECODE_API_RUN_ID';

// Both scripts get their inputs as arguments ($1 marker, $2 signal), never spliced into the text.
const FIND_RUN_PIDS = `for dir in /proc/[0-9]*; do
  tr '\\0' '\\n' < "$dir/environ" 2>/dev/null | grep -qxF "$1" && echo "\${dir#/proc/}"
done`;
const SIGNAL_RUN_SCRIPT = `pids=$(${FIND_RUN_PIDS}); [ -z "$pids" ] || kill -s "$2" $pids 2>/dev/null; exit 0`;

/** Networks Docker always has; they are never created. */
const BUILTIN_NETWORKS = new Set(['host', 'bridge', 'none']);

/**
 * The only code that talks to Docker. Thin, typed methods over dockerode that return this
 * project's types and translate the engine's failures into this project's errors. No business
 * logic lives here.
 */
@Injectable()
export class DockerService {
  private readonly logger = new Logger(DockerService.name);
  private readonly docker: Docker;
  private readonly timeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.docker = new Docker(connectionOptions(config.docker));
    this.timeoutMs = config.docker.timeoutMs;
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping());
  }

  async imageExists(reference: string): Promise<boolean> {
    try {
      await this.call('inspect the image', () => this.docker.getImage(reference).inspect());
      return true;
    } catch (error) {
      if (error instanceof DockerNotFoundError) return false;
      throw error;
    }
  }

  /** The container's state, or null when there is no container of that name. */
  async inspectContainer(name: string): Promise<ContainerInfo | null> {
    try {
      const info = await this.call('inspect the container', () =>
        this.docker.getContainer(name).inspect(),
      );
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
    } catch (error) {
      if (error instanceof DockerNotFoundError) return null;
      throw error;
    }
  }

  /** Creates the container; false when one of that name exists already. */
  async createContainer(spec: ContainerSpec): Promise<boolean> {
    try {
      await this.call('create the container', () =>
        this.docker.createContainer({
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
            Mounts: spec.mounts.map((mount) => ({
              Type: 'volume' as const,
              Source: mount.volume,
              Target: mount.target,
            })),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof DockerConflictError) return false;
      throw error;
    }
  }

  /** Starts the container; a container that is already running is fine. */
  async startContainer(name: string): Promise<void> {
    await this.call('start the container', () => this.docker.getContainer(name).start(), {
      notModifiedIsSuccess: true,
    });
  }

  /** Stops the container; one that is already stopped is fine. */
  async stopContainer(name: string, graceSeconds: number): Promise<void> {
    await this.call(
      'stop the container',
      () => this.docker.getContainer(name).stop({ t: graceSeconds }),
      { notModifiedIsSuccess: true, timeoutMs: this.timeoutMs + graceSeconds * 1000 },
    );
  }

  /** Removes the container (volumes stay); a missing container is fine. */
  async removeContainer(name: string): Promise<void> {
    try {
      await this.call('remove the container', () =>
        this.docker.getContainer(name).remove({ force: true }),
      );
    } catch (error) {
      if (!(error instanceof DockerNotFoundError)) throw error;
    }
  }

  /** Creates a bridge network unless it exists (or is one of Docker's built-in ones). */
  async ensureNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
    if (BUILTIN_NETWORKS.has(name)) return;
    const existing = await this.call('list networks', () =>
      this.docker.listNetworks({ filters: { name: [name] } }),
    );
    if (existing.some((network) => network.Name === name)) return;
    try {
      await this.call('create the network', () =>
        this.docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { ...labels } }),
      );
    } catch (error) {
      if (!(error instanceof DockerConflictError)) throw error;
    }
  }

  /** Creates a named volume with labels; Docker returns the existing one when it is there. */
  async ensureVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
    await this.call('create the volume', () =>
      this.docker.createVolume({ Name: name, Labels: { ...labels } }),
    );
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.call('remove the volume', () => this.docker.getVolume(name).remove());
    } catch (error) {
      if (!(error instanceof DockerNotFoundError)) throw error;
    }
  }

  /** Runs a process in a running container to its end and collects its output. */
  async exec(containerName: string, options: ExecOptions): Promise<ExecResult> {
    const withStdin = options.stdin !== undefined;
    const { exec, stream } = await this.startExec(containerName, options, withStdin);
    const stdout = collect();
    const stderr = collect();
    this.docker.modem.demuxStream(stream, stdout.sink, stderr.sink);
    const ended = new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    if (withStdin) stream.end(options.stdin);
    try {
      await ended;
    } catch (error) {
      throw this.translate(error, 'read the exec output');
    }
    const { ExitCode } = await this.call('inspect the exec', () => exec.inspect());
    return { exitCode: ExitCode ?? -1, stdout: stdout.text(), stderr: stderr.text() };
  }

  /** Creates and starts an exec with its output attached (and stdin when asked). */
  private async startExec(
    containerName: string,
    options: Pick<ExecOptions, 'cmd' | 'user' | 'workdir'> & {
      env?: Readonly<Record<string, string | undefined>>;
    },
    withStdin: boolean,
  ): Promise<{ exec: Docker.Exec; stream: Duplex }> {
    const exec = await this.call('create the exec', () =>
      this.docker.getContainer(containerName).exec({
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
    const stream = await this.call('start the exec', () =>
      exec.start({ hijack: true, stdin: withStdin }),
    );
    return { exec, stream };
  }

  /**
   * Starts a process in a running container and returns at once, ChildProcess-style (see
   * `DockerProcess`). The process and everything it starts carry `RUN_MARKER=<runId>` in
   * their environment, which is how `kill()` finds them inside the container.
   */
  spawn(containerName: string, options: SpawnOptions): DockerProcess {
    let exec: Docker.Exec | undefined;
    return new DockerProcess({
      start: async () => {
        const started = await this.startExec(
          containerName,
          { ...options, env: { ...options.env, [RUN_MARKER]: options.runId } },
          true,
        );
        exec = started.exec;
        return started.stream;
      },
      demux: (stream, stdout, stderr) => this.docker.modem.demuxStream(stream, stdout, stderr),
      exitCode: async () => {
        const started = exec;
        if (!started) return null;
        return (await this.call('inspect the exec', () => started.inspect())).ExitCode;
      },
      signal: (signal) => this.signalRun(containerName, options.runId, signal, options.user),
    });
  }

  /** Sends a signal to every process of a run inside the container. */
  async signalRun(
    containerName: string,
    runId: string,
    signal: NodeJS.Signals,
    user?: string,
  ): Promise<void> {
    await this.exec(containerName, {
      cmd: [
        'sh',
        '-c',
        SIGNAL_RUN_SCRIPT,
        'signal-run',
        `${RUN_MARKER}=${runId}`,
        signal.replace(/^SIG/, ''),
      ],
      user,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Files, through the archive API: it reads stopped containers too, volumes included, and
  // needs no process inside. 404 (no such container or no such path) is null.

  /** What is at a path in the container, or null when the container or the path is missing. */
  async statPath(containerName: string, path: string): Promise<PathStat | null> {
    try {
      return await this.call('stat a path in the container', async () => {
        const response: unknown = await this.docker
          .getContainer(containerName)
          .infoArchive({ path });
        return pathStatOf(response);
      });
    } catch (error) {
      if (error instanceof DockerNotFoundError) return null;
      throw error;
    }
  }

  /**
   * The regular files below a directory of the container (recursively), with the content of
   * the ones `options.wantContent` picks; null when the container or the directory is missing.
   */
  async readDirectoryArchive(
    containerName: string,
    dir: string,
    options: ReadDirectoryOptions = {},
  ): Promise<ArchiveEntry[] | null> {
    try {
      return await this.call('read a directory of the container', async () => {
        const archive = await this.docker.getContainer(containerName).getArchive({ path: dir });
        return readDirectoryEntries(asReadable(archive), options);
      });
    } catch (error) {
      if (error instanceof DockerNotFoundError) return null;
      throw error;
    }
  }

  /** A file of the container, cut at `maxBytes`; null when the container or the file is missing. */
  async readFile(
    containerName: string,
    path: string,
    maxBytes: number,
  ): Promise<FileContent | null> {
    try {
      return await this.call('read a file of the container', async () => {
        const archive = await this.docker.getContainer(containerName).getArchive({ path });
        return readSingleFile(asReadable(archive), maxBytes);
      });
    } catch (error) {
      if (error instanceof DockerNotFoundError) return null;
      throw error;
    }
  }

  /**
   * Runs one engine call with a deadline and maps its failure to this project's errors. With
   * `notModifiedIsSuccess`, Docker's 304 (already started/stopped) counts as done.
   */
  private async call<T>(
    operation: string,
    run: () => Promise<T>,
    options: { notModifiedIsSuccess?: boolean; timeoutMs?: number } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('Docker call timed out'), { code: 'DOCKER_TIMEOUT' })),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([run(), deadline]);
    } catch (error) {
      if (options.notModifiedIsSuccess && statusCodeOf(error) === 304) return undefined as T;
      throw this.translate(error, operation);
    } finally {
      clearTimeout(timer);
    }
  }

  private translate(error: unknown, operation: string): Error {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) {
      this.logger.warn(`Docker unavailable while trying to ${operation}: ${code}`);
      return new DockerUnavailableError();
    }
    const status = statusCodeOf(error);
    if (status === 404) return new DockerNotFoundError(operation);
    if (status === 409) return new DockerConflictError(operation);
    this.logger.error(
      `Docker failed to ${operation}: ${String((error as Error | null)?.message ?? error)}`,
    );
    return new DockerOperationError(operation);
  }
}

function connectionOptions(config: DockerConnectionConfig): Docker.DockerOptions {
  switch (config.kind) {
    case 'socket':
      return { socketPath: config.socketPath };
    case 'tcp':
      return { protocol: config.protocol, host: config.host, port: config.port };
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
