/** Docker's container states, as the engine reports them. */
export const ContainerState = {
  created: 'created',
  running: 'running',
  paused: 'paused',
  restarting: 'restarting',
  removing: 'removing',
  exited: 'exited',
  dead: 'dead',
} as const;
export type ContainerState = (typeof ContainerState)[keyof typeof ContainerState];

export interface ContainerInfo {
  id: string;
  name: string;
  state: ContainerState;
  running: boolean;
  /** The image reference the container was created from. */
  image: string;
  createdAt: string;
  /** ISO time of the last start, or null if it never started. */
  startedAt: string | null;
  labels: Readonly<Record<string, string>>;
}

export interface VolumeMount {
  volume: string;
  target: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  user: string;
  workdir: string;
  /** A network name; `host` shares the host's stack. */
  network: string;
  labels: Readonly<Record<string, string>>;
  mounts: readonly VolumeMount[];
}

export interface ExecOptions {
  /** argv, never a shell string. */
  cmd: readonly string[];
  env?: Readonly<Record<string, string>>;
  user?: string;
  workdir?: string;
  /** Written to the process's stdin, which is then closed. */
  stdin?: string | Buffer;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** argv, never a shell string. */
  cmd: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  user?: string;
  workdir?: string;
  /** Tags every process of the run, so it can be signalled inside the container. */
  runId: string;
}

/** A path inside a container, as Docker's archive API reports it. */
export interface PathStat {
  name: string;
  size: number;
  /** Unix permission bits. */
  mode: number;
  mtime: Date;
  isDirectory: boolean;
}

/** A regular file found under a directory read through the archive API. */
export interface ArchiveEntry {
  /** The path below the directory that was read, `/`-separated, e.g. `abc.jsonl` or `abc/x.jsonl`. */
  name: string;
  size: number;
  mode: number;
  /** Whole seconds: tar keeps no more. */
  mtime: Date;
  /** Only for the entries `wantContent` chose that are within `maxContentBytes`. */
  content?: Buffer;
}

export interface ReadDirectoryOptions {
  /** Asked once per file, in archive order; return true to get its content. */
  wantContent?: (entry: Omit<ArchiveEntry, 'content'>) => boolean;
  /** Files larger than this never get content. Default 16 MiB. */
  maxContentBytes?: number;
}

export interface FileContent {
  /** The file's full size, even when `content` was cut. */
  size: number;
  mtime: Date;
  /** At most the `maxBytes` asked for. */
  content: Buffer;
  truncated: boolean;
}

/** One event of the engine's event stream. */
export interface DockerEvent {
  /** `container`, `network`, `volume`… */
  type: string;
  /** `start`, `die`, `destroy`… */
  action: string;
  /** The object's id. */
  id: string;
  /** The object's name and labels, among others. */
  attributes: Readonly<Record<string, string>>;
}

export interface EventWatch {
  stop(): void;
  /** Settles when the stream ends, whatever the reason. */
  ended: Promise<void>;
}
