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

/** What bounds a container. */
export interface ContainerResources {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  cpuShares: number;
  /** Open files per process, soft and hard. */
  nofile: number;
}

/**
 * An agent container: always non-root, with every capability dropped, no new privileges, a
 * read-only root and an init. Only these fields vary.
 */
export interface ContainerSpec {
  name: string;
  image: string;
  user: string;
  workdir: string;
  /** A network name; `host` shares the host's stack. */
  network: string;
  labels: Readonly<Record<string, string>>;
  mounts: readonly VolumeMount[];
  /** Writable tmpfs mounts: path → size in MiB. */
  tmpfs: Readonly<Record<string, number>>;
  resources: ContainerResources;
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
  /** Named, as its signals' execs are too: the socket proxy refuses an exec with no user. */
  user: string;
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
