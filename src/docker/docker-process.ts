import { EventEmitter } from 'node:events';
import { Duplex, PassThrough } from 'node:stream';

/** How a `DockerProcess` reaches the engine; DockerService provides it. */
export interface DockerProcessBackend {
  /** Creates and starts the exec; resolves with its hijacked stream. */
  start(): Promise<Duplex>;
  /** Splits Docker's multiplexed stream into stdout and stderr. */
  demux(stream: Duplex, stdout: PassThrough, stderr: PassThrough): void;
  /** The exec's exit code, once its stream has ended. */
  exitCode(): Promise<number | null>;
  /** Signals the process (and its children) inside the container. Docker has no exec-kill. */
  signal(signal: NodeJS.Signals): Promise<void>;
}

const SIGNAL_EXIT_CODES: Partial<Record<number, NodeJS.Signals>> = {
  130: 'SIGINT',
  137: 'SIGKILL',
  143: 'SIGTERM',
};

/**
 * A process running in a container through `docker exec`, shaped like Node's ChildProcess (the
 * Agent SDK's `SpawnedProcess`): stdin, stdout and stderr streams, `kill()`, and an `exit` event.
 * It is returned synchronously; the exec starts in the background and stdin is buffered until
 * then.
 */
export class DockerProcess extends EventEmitter {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  killed = false;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private exited = false;
  private lastSignal: NodeJS.Signals | null = null;
  private readonly exitPromise: Promise<number | null>;

  constructor(private readonly backend: DockerProcessBackend) {
    super();
    // A start failure is also reported through 'exit'; an unheard 'error' must not crash.
    this.on('error', () => undefined);
    this.exitPromise = new Promise((resolve) =>
      this.once('exit', (code: number | null) => resolve(code)),
    );
    void this.run();
  }

  /** Resolves with the exit code (null when killed by a signal) once the process has ended. */
  waitForExit(): Promise<number | null> {
    return this.exitPromise;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    this.killed = true;
    this.lastSignal = signal;
    this.backend.signal(signal).catch((error: unknown) => this.emit('signal-error', error));
    return true;
  }

  private async run(): Promise<void> {
    let stream: Duplex;
    try {
      stream = await this.backend.start();
    } catch (error) {
      this.finish(null, error as Error);
      return;
    }
    this.backend.demux(stream, this.stdout, this.stderr);
    this.stdin.on('data', (chunk: Buffer) => stream.write(chunk));
    // Half-closes the connection: Docker then closes the process's stdin.
    this.stdin.on('end', () => stream.end());
    this.stdin.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    await ended;
    let code: number | null = null;
    try {
      code = await this.backend.exitCode();
    } catch (error) {
      this.finish(null, error as Error);
      return;
    }
    this.finish(code);
  }

  private finish(code: number | null, error?: Error): void {
    if (this.exited) return;
    this.exited = true;
    const signal = (code === null ? undefined : SIGNAL_EXIT_CODES[code]) ?? this.lastSignal;
    this.signalCode = this.killed ? signal : null;
    this.exitCode = this.signalCode ? null : code;
    this.stdout.end();
    this.stderr.end();
    if (error) this.emit('error', error);
    this.emit('exit', this.exitCode, this.signalCode);
  }
}
