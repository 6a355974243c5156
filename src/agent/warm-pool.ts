import { WarmConfig } from '../common/config/app-config';
import { PermissionMode } from '../common/config/permission-mode';
import { PromptOptions } from './run-executor';

/** What a parked Claude Code process holds (the SDK measures 230–260 MB). */
export const PARKED_CLI_BYTES = 256 * 1024 ** 2;
/** The part of a container's memory never given to parked CLIs: the turns that run and their tools. */
export const RUNNING_RESERVE_BYTES = 512 * 1024 ** 2;

/** How many warm sessions and spares a container keeps. */
export interface WarmCapacity {
  warm: number;
  spares: number;
}

/**
 * The warm sessions and spares a container of `memoryBytes` keeps: the settings, within what
 * fits beside RUNNING_RESERVE_BYTES at PARKED_CLI_BYTES each (2 GiB: 6). Warm sessions come
 * first; spares only serve as warm sessions, so none without them.
 */
export function warmCapacity(config: WarmConfig, memoryBytes: number): WarmCapacity {
  if (config.total === 0) return { warm: 0, spares: 0 };
  const fits = Math.max(0, Math.floor((memoryBytes - RUNNING_RESERVE_BYTES) / PARKED_CLI_BYTES));
  const warm = Math.min(config.perEnv, config.total, fits);
  return { warm, spares: warm === 0 ? 0 : Math.min(config.spares, fits - warm) };
}

/**
 * What is fixed when a CLI starts: a turn asking for other values needs another process. Unset
 * and default values count as the same.
 */
export function processKey(options: Omit<PromptOptions, 'prompt'>, approvals: boolean): string {
  return JSON.stringify([
    options.model ?? null,
    options.maxTurns ?? null,
    options.allowedTools ?? null,
    options.disallowedTools ?? null,
    options.permissionMode ?? PermissionMode.default,
    options.appendSystemPrompt || null,
    options.includePartialMessages === true,
    approvals,
    options.maxBudgetUsd ?? null,
    options.outputSchema ?? null,
  ]);
}

/**
 * A run whose CLI serves it alone: the CLI counts `maxBudgetUsd` from its start, over every turn
 * it serves, so a kept CLI would charge a run with the turns before it.
 */
export function needsOwnCli(options: Omit<PromptOptions, 'prompt'>): boolean {
  return options.maxBudgetUsd !== undefined;
}

/** The key of a CLI started with no options and no approvals, as spares are. */
export const DEFAULT_PROCESS_KEY = processKey({}, false);

/** What the pool needs of a CLI. */
export interface PooledCli {
  readonly containerName: string;
  readonly sessionId: string;
  readonly key: string;
  readonly dead: boolean;
  /** Turns served so far. */
  readonly turns: number;
  close(): Promise<void>;
}

interface Entry<T> {
  cli: T;
  inUse: boolean;
  lastUsed: number;
}

/**
 * The warm CLIs, one per session at most, least recently used first. A CLI in use (its turn
 * runs) is never closed here; the bounds are met again as soon as it is back.
 */
export class WarmPool<T extends PooledCli> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    /** Warm CLIs a container keeps. */
    private readonly perContainer: (containerName: string) => number,
    private readonly total: number,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The container's warm CLIs, idle or in a turn. */
  sizeIn(containerName: string): number {
    let count = 0;
    for (const { cli } of this.entries.values())
      if (cli.containerName === containerName) count += 1;
    return count;
  }

  /**
   * The session's idle CLI, now in use, when it can serve a turn of `key`; a CLI that cannot
   * (other options, dead, or a history that the turn does not expect: a transcript started
   * anew, or a resume of a session it never ran) leaves the pool and is closed.
   */
  take(containerName: string, sessionId: string, key: string, resume: boolean): T | null {
    const id = entryId(containerName, sessionId);
    const entry = this.entries.get(id);
    if (!entry || entry.inUse) return null;
    if (entry.cli.dead || entry.cli.key !== key || entry.cli.turns > 0 !== resume) {
      void this.close(id, entry);
      return null;
    }
    this.use(id, entry);
    return entry.cli;
  }

  /** Adds a CLI that serves a turn now; false (not added) when its session has one in use. */
  add(cli: T): boolean {
    const id = entryId(cli.containerName, cli.sessionId);
    const existing = this.entries.get(id);
    if (existing?.inUse) return false;
    if (existing) void this.close(id, existing);
    this.use(id, { cli, inUse: true, lastUsed: this.now() });
    return true;
  }

  /** Adds an idle CLI (a spare handed to its session), then meets the bounds. */
  park(cli: T): void {
    this.add(cli);
    this.release(cli);
  }

  /** Back from its turn: kept while alive (most recently used), then the bounds are met. */
  release(cli: T): void {
    const id = entryId(cli.containerName, cli.sessionId);
    const entry = this.entries.get(id);
    if (entry?.cli !== cli) return;
    entry.inUse = false;
    entry.lastUsed = this.now();
    if (cli.dead) this.entries.delete(id);
    this.meetBounds();
  }

  /** Forgets a CLI whose process has ended, unless its turn still holds it. */
  drop(cli: T): void {
    const id = entryId(cli.containerName, cli.sessionId);
    const entry = this.entries.get(id);
    if (entry?.cli === cli && !entry.inUse) this.entries.delete(id);
  }

  /** Closes the session's CLI unless a turn holds it (its session is gone: it has no next turn). */
  closeSession(containerName: string, sessionId: string): Promise<void> {
    const id = entryId(containerName, sessionId);
    const entry = this.entries.get(id);
    return entry && !entry.inUse ? this.close(id, entry) : Promise.resolve();
  }

  /** Closes the CLIs idle for longer than the idle time. */
  sweep(): void {
    const cutoff = this.now() - this.idleMs;
    for (const [id, entry] of this.entries) {
      if (!entry.inUse && entry.lastUsed <= cutoff) void this.close(id, entry);
    }
  }

  /** Closes the idle CLIs of a container (or all), and waits for their ends. */
  async closeIdle(containerName?: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [id, entry] of this.entries) {
      if (entry.inUse) continue;
      if (containerName !== undefined && entry.cli.containerName !== containerName) continue;
      closing.push(this.close(id, entry));
    }
    await Promise.all(closing);
  }

  private use(id: string, entry: Entry<T>): void {
    // Re-inserted: a Map keeps insertion order, so the first entry is the least recently used.
    this.entries.delete(id);
    entry.inUse = true;
    this.entries.set(id, entry);
  }

  private meetBounds(): void {
    const counts = new Map<string, number>();
    for (const { cli } of this.entries.values()) {
      counts.set(cli.containerName, (counts.get(cli.containerName) ?? 0) + 1);
    }
    let total = this.entries.size;
    for (const [id, entry] of this.entries) {
      if (entry.inUse) continue;
      const container = entry.cli.containerName;
      const inContainer = counts.get(container) ?? 0;
      if (!entry.cli.dead && total <= this.total && inContainer <= this.perContainer(container)) {
        continue;
      }
      void this.close(id, entry);
      counts.set(container, inContainer - 1);
      total -= 1;
    }
  }

  private close(id: string, entry: Entry<T>): Promise<void> {
    this.entries.delete(id);
    return entry.cli.close().catch(() => undefined);
  }
}

function entryId(containerName: string, sessionId: string): string {
  return `${containerName}\n${sessionId}`;
}
