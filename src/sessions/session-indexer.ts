import { Injectable, Logger } from '@nestjs/common';
import { ContainersService } from '../containers/containers.service';
import { IndexedFile, IndexedTranscript, SessionsRepository } from './sessions.repository';
import { TranscriptStat, TranscriptsRepository } from './transcripts.repository';

/** How long a read waits for a scan before it answers from the index as it stands. */
const SCAN_WAIT_MS = 2000;
/** Reads are saved in batches, so a long first scan shows its progress. */
const SAVE_BATCH = 500;

interface ScanSlot {
  running: Promise<void> | null;
  /** The scan that starts when the running one ends, shared by whoever asks meanwhile. */
  queued: Promise<void> | null;
}

/**
 * Keeps the sessions index in step with the sessions volume. A scan lists names, sizes and
 * mtimes only, and reads just the transcripts that are new or changed, a grown one from where
 * its last read stopped. While a container is stopped nothing can change, so the index stands;
 * an environment never scanned is read once through the archive API.
 */
@Injectable()
export class SessionIndexer {
  private readonly logger = new Logger(SessionIndexer.name);
  private readonly slots = new Map<string, ScanSlot>();

  constructor(
    private readonly containers: ContainersService,
    private readonly transcripts: TranscriptsRepository,
    private readonly sessions: SessionsRepository,
  ) {}

  /**
   * Scans the environment (a scan already in flight may have listed before the caller's change,
   * so a new one is queued behind it) and waits for it at most `waitMs`. Never throws: a failed
   * or slow scan leaves the index as it stands.
   */
  async refresh(env: string, waitMs = SCAN_WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    try {
      await Promise.race([this.requestScan(env), waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  private requestScan(env: string): Promise<void> {
    let slot = this.slots.get(env);
    if (!slot) {
      slot = { running: null, queued: null };
      this.slots.set(env, slot);
    }
    const current = slot;
    if (!current.running) return this.start(env, current);
    current.queued ??= current.running.then(() => {
      current.queued = null;
      return this.start(env, current);
    });
    return current.queued;
  }

  private start(env: string, slot: ScanSlot): Promise<void> {
    const running = this.scan(env)
      .catch((error: unknown) => {
        this.logger.warn(`Could not scan the sessions of ${env}: ${String(error)}`);
      })
      .finally(() => {
        if (slot.running === running) slot.running = null;
      });
    slot.running = running;
    return running;
  }

  private async scan(env: string): Promise<void> {
    const container = this.containers.containerName(env);
    const state = await this.containers.runState(env);
    if (state === 'missing') return;
    if (state === 'stopped') {
      if (!(await this.sessions.wasScanned(env))) await this.readWhileStopped(env, container);
      return;
    }
    const stats = await this.transcripts.list(container);
    const indexed = await this.sessions.transcripts(env);
    const onDisk = new Set(stats.map((stat) => stat.id));
    await this.sessions.dropTranscripts(
      env,
      [...indexed.keys()].filter((id) => !onDisk.has(id)),
    );
    const changed = new Map(
      stats.filter((stat) => hasChanged(indexed.get(stat.id), stat)).map((stat) => [stat.id, stat]),
    );
    const batch = this.saver(env);
    await this.transcripts.read(
      container,
      [...changed.values()].map((stat) => ({
        id: stat.id,
        size: stat.size,
        from: resumeFrom(indexed.get(stat.id), stat),
      })),
      (read) => {
        const stat = changed.get(read.id);
        if (stat) batch.add({ ...read, size: stat.size, mtimeMs: stat.mtimeMs });
      },
    );
    await batch.flush();
    await this.sessions.markScanned(env);
  }

  private async readWhileStopped(env: string, container: string): Promise<void> {
    const batch = this.saver(env);
    const found = await this.transcripts.readAll(container, (read) => batch.add(read));
    await batch.flush();
    if (found) await this.sessions.markScanned(env);
  }

  /**
   * Saves what is read in batches as it comes, one batch after the other; `flush` saves the rest
   * and resolves when all are saved (or rejects with the first failure).
   */
  private saver(env: string): { add(file: IndexedFile): void; flush(): Promise<void> } {
    let pending: IndexedFile[] = [];
    let saved = Promise.resolve();
    const save = () => {
      const batch = pending;
      pending = [];
      saved = saved.then(() => this.sessions.saveTranscripts(env, batch));
      // Seen by `flush`; until then a failure must not count as unhandled.
      saved.catch(() => undefined);
    };
    return {
      add: (file) => {
        pending.push(file);
        if (pending.length >= SAVE_BATCH) save();
      },
      flush: () => {
        save();
        return saved;
      },
    };
  }
}

function hasChanged(known: IndexedTranscript | undefined, stat: TranscriptStat): boolean {
  return !known || known.size !== stat.size || known.mtimeMs !== stat.mtimeMs;
}

/** A transcript that only grew is read on from where its last read stopped. */
function resumeFrom(known: IndexedTranscript | undefined, stat: TranscriptStat) {
  return known && stat.size > known.size && known.read.bytes <= stat.size ? known.read : null;
}
