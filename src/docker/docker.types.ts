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
