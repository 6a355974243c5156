import { Logger } from '@nestjs/common';

/** What the spares need of a started CLI. */
export interface SpareCli {
  readonly dead: boolean;
  close(): Promise<void>;
}

const RETRY_MIN_MS = 1000;
/**
 * A spare's start takes about a second of CPU; after a take it waits this long, so it does not
 * compete with the first turn of the session that took the spare.
 */
const REFILL_AFTER_TAKE_MS = 1000;
const RETRY_MAX_MS = 60_000;

/** One container's spares. */
interface SpareSet<T> {
  ready: T[];
  starting: number;
  /** Starts that failed in a row: the next waits longer. */
  failures: number;
  retry: NodeJS.Timeout | undefined;
  /** Kept filled while the container runs. */
  active: boolean;
}

/**
 * Pre-started CLIs per container, for the first turn of a new session. They are started while
 * the container runs and refilled in the background as they are taken or die; a start that
 * fails is logged and tried again with backoff. Nothing here ever waits on a start for a
 * request.
 */
export class SpareProcesses<T extends SpareCli> {
  private readonly logger = new Logger(SpareProcesses.name);
  private readonly sets = new Map<string, SpareSet<T>>();
  private closed = false;

  constructor(
    private readonly target: (containerName: string) => number,
    /** Starts one spare; resolves once it can take a turn. */
    private readonly start: (containerName: string) => Promise<T>,
  ) {}

  /** Spares of the container ready now. */
  ready(containerName: string): number {
    return this.sets.get(containerName)?.ready.length ?? 0;
  }

  /** The container runs: its spares are started (idempotent). */
  running(containerName: string): void {
    if (this.closed || this.target(containerName) === 0) return;
    const set = this.setOf(containerName);
    set.active = true;
    this.fill(containerName, set);
  }

  /** The container stopped: its spares are closed and no more are started. */
  stopped(containerName: string): void {
    const set = this.sets.get(containerName);
    if (!set) return;
    set.active = false;
    clearTimeout(set.retry);
    set.retry = undefined;
    set.failures = 0;
    for (const spare of set.ready.splice(0)) void spare.close();
  }

  /**
   * Starts what is missing after a spare died, a moment later: a spare that died with its
   * container is told before the container's stop is, and must not be started again in it.
   */
  refill(containerName: string): void {
    const set = this.sets.get(containerName);
    if (set) this.retryLater(containerName, set, RETRY_MIN_MS);
  }

  /** A ready spare of the container, left in place (to ask it something), or null. */
  peek(containerName: string): T | null {
    return this.sets.get(containerName)?.ready.find((spare) => !spare.dead) ?? null;
  }

  /** A ready spare of the container (which starts another a moment later), or null. */
  take(containerName: string): T | null {
    const set = this.sets.get(containerName);
    if (!set) return null;
    let spare = set.ready.shift();
    while (spare?.dead) spare = set.ready.shift();
    // None left: nothing to compete with, so the next one starts at once.
    if (spare) this.retryLater(containerName, set, REFILL_AFTER_TAKE_MS);
    else this.fill(containerName, set);
    return spare ?? null;
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const closing: Promise<void>[] = [];
    for (const set of this.sets.values()) {
      set.active = false;
      clearTimeout(set.retry);
      closing.push(...set.ready.splice(0).map((spare) => spare.close()));
    }
    await Promise.all(closing);
  }

  private setOf(containerName: string): SpareSet<T> {
    let set = this.sets.get(containerName);
    if (!set) {
      set = { ready: [], starting: 0, failures: 0, retry: undefined, active: false };
      this.sets.set(containerName, set);
    }
    return set;
  }

  private fill(containerName: string, set: SpareSet<T>): void {
    set.ready = set.ready.filter((spare) => !spare.dead);
    const missing = this.target(containerName) - set.ready.length - set.starting;
    if (!set.active || set.retry || missing <= 0) return;
    for (let i = 0; i < missing; i += 1) void this.startOne(containerName, set);
  }

  private retryLater(containerName: string, set: SpareSet<T>, delayMs: number): void {
    if (!set.active || set.retry) return;
    set.retry = setTimeout(() => {
      set.retry = undefined;
      this.fill(containerName, set);
    }, delayMs);
    set.retry.unref();
  }

  private async startOne(containerName: string, set: SpareSet<T>): Promise<void> {
    set.starting += 1;
    let spare: T;
    try {
      spare = await this.start(containerName);
    } catch (error) {
      set.starting -= 1;
      set.failures += 1;
      const delay = Math.min(RETRY_MIN_MS * 2 ** (set.failures - 1), RETRY_MAX_MS);
      this.logger.warn(
        `A spare CLI for ${containerName} did not start (${String(error)}); retrying in ${delay} ms`,
      );
      this.retryLater(containerName, set, delay);
      return;
    }
    set.starting -= 1;
    set.failures = 0;
    if (!set.active || this.closed) {
      void spare.close();
      return;
    }
    set.ready.push(spare);
  }
}
