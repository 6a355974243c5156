import { Readable } from 'node:stream';
import {
  ReadState,
  readMessagePage,
  readTranscriptEntries,
  summarizeFrom,
  MessagePage,
  MessagePosition,
  TranscriptEntry,
} from '../../src/sessions/transcript';
import {
  TranscriptRead,
  TranscriptStat,
  TranscriptsRepository,
  TranscriptToRead,
} from '../../src/sessions/transcripts.repository';

interface StoredFile {
  bytes: Buffer;
  mtimeMs: number;
}

/** The bytes in small chunks, as a stream would deliver them. */
function chunks(bytes: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 1024) parts.push(bytes.subarray(at, at + 1024));
  return Readable.from(parts);
}

/**
 * The sessions volumes in memory, behind TranscriptsRepository's methods, with the same pure
 * readers (summaries, pages) the real one streams through. It records what was listed, read and
 * removed, so a test can tell a scan that read nothing from one that read everything.
 */
export class FakeTranscripts implements Pick<
  TranscriptsRepository,
  | 'list'
  | 'read'
  | 'readAll'
  | 'readMessages'
  | 'readEntries'
  | 'hasTranscript'
  | 'exists'
  | 'remove'
  | 'create'
> {
  readonly reads: Array<{ id: string; from: ReadState | null }> = [];
  readonly removed: string[] = [];
  listings = 0;
  fullReads = 0;
  /** Thrown by every call while set, as a Docker failure would be. */
  failWith: Error | null = null;
  private readonly volumes = new Map<string, Map<string, StoredFile>>();

  write(id: string, bytes: Buffer, mtimeMs: number, container = 'claude-agent-dev'): void {
    this.volume(container).set(id, { bytes, mtimeMs });
  }

  bytesOf(id: string, container = 'claude-agent-dev'): Buffer | undefined {
    return this.volume(container).get(id)?.bytes;
  }

  delete(id: string, container = 'claude-agent-dev'): void {
    this.volume(container).delete(id);
  }

  list(container: string): Promise<TranscriptStat[]> {
    this.check();
    this.listings += 1;
    return Promise.resolve(
      [...this.volume(container)].map(([id, file]) => ({
        id,
        size: file.bytes.length,
        mtimeMs: file.mtimeMs,
      })),
    );
  }

  async read(
    container: string,
    files: ReadonlyArray<TranscriptToRead>,
    onRead: (read: TranscriptRead) => void,
  ): Promise<void> {
    this.check();
    for (const { id, from } of files) {
      const file = this.volume(container).get(id);
      if (!file) continue;
      this.reads.push({ id, from });
      onRead({ id, ...(await summarizeFrom(chunks(file.bytes), from)) });
    }
  }

  async readAll(
    container: string,
    onRead: (read: TranscriptRead & TranscriptStat) => void,
  ): Promise<boolean> {
    this.check();
    this.fullReads += 1;
    for (const [id, file] of this.volume(container)) {
      const progress = await summarizeFrom(chunks(file.bytes), null);
      onRead({ id, ...progress, size: file.bytes.length, mtimeMs: file.mtimeMs });
    }
    return true;
  }

  async readMessages(
    container: string,
    id: string,
    position: MessagePosition,
    limit: number,
  ): Promise<MessagePage | null> {
    this.check();
    const file = this.volume(container).get(id);
    return file ? readMessagePage(chunks(file.bytes), position, limit) : null;
  }

  async readEntries(
    container: string,
    id: string,
    maxBytes: number,
  ): Promise<{ size: number; entries: TranscriptEntry[] | null } | null> {
    this.check();
    const file = this.volume(container).get(id);
    if (!file) return null;
    const size = file.bytes.length;
    return {
      size,
      entries: size > maxBytes ? null : await readTranscriptEntries(chunks(file.bytes)),
    };
  }

  /** Writes a new transcript, refusing to replace one, with the current time as its mtime. */
  create(container: string, id: string, content: Buffer): Promise<TranscriptStat> {
    this.check();
    if (this.volume(container).has(id)) throw new Error(`${id} exists`);
    const mtimeMs = Date.now();
    this.write(id, content, mtimeMs, container);
    return Promise.resolve({ id, size: content.length, mtimeMs });
  }

  hasTranscript(container: string, id: string): Promise<boolean> {
    this.check();
    return Promise.resolve(this.volume(container).has(id));
  }

  async exists(container: string, id: string): Promise<{ transcript: boolean; any: boolean }> {
    const found = await this.hasTranscript(container, id);
    return { transcript: found, any: found };
  }

  remove(container: string, id: string): Promise<void> {
    this.check();
    this.removed.push(id);
    this.volume(container).delete(id);
    return Promise.resolve();
  }

  private volume(container: string): Map<string, StoredFile> {
    let volume = this.volumes.get(container);
    if (!volume) {
      volume = new Map();
      this.volumes.set(container, volume);
    }
    return volume;
  }

  private check(): void {
    if (this.failWith) throw this.failWith;
  }
}
