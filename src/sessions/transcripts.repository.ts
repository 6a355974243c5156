import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { AGENT_USER, sessionStatePaths } from '../agent/agent-layout';
import { DockerOperationError } from '../docker/docker.errors';
import { DockerService } from '../docker/docker.service';
import { ArchiveFile, visitArchiveFiles, VisitResult } from '../docker/docker-archive';
import {
  MessagePage,
  MessagePosition,
  readMessagePage,
  ReadState,
  readTranscriptEntries,
  sessionIdOfFile,
  summarizeFrom,
  transcriptDirectory,
  TranscriptEntry,
  TranscriptProgress,
} from './transcript';

/** A transcript to read, from where its last read stopped (null: from the start). */
export interface TranscriptToRead {
  id: string;
  size: number;
  from: ReadState | null;
}

/** A transcript file as a directory listing shows it: no content read. */
export interface TranscriptStat {
  id: string;
  size: number;
  mtimeMs: number;
}

/** What reading a transcript yields for the index. */
export interface TranscriptRead extends TranscriptProgress {
  id: string;
}

/** Names per `tar` exec, well under the kernel's argument limit. */
const TAR_BATCH_FILES = 500;
/** Bytes per `tar` exec, so that each one ends well within DOCKER_TIMEOUT_MS. */
const TAR_BATCH_BYTES = 64 * 1024 * 1024;
/** A full read of a stopped container's transcripts (once per environment) may take this long. */
const FULL_READ_DEADLINE_FACTOR = 20;

// `find -printf` is GNU findutils, which the agent image (Debian) has.
const STAT_FORMAT = `-printf '%f\\t%s\\t%T@\\n'`;
const LIST_SCRIPT = `find "$1" -maxdepth 1 -type f -name '*.jsonl' ${STAT_FORMAT} 2>/dev/null; exit 0`;
/**
 * Writes stdin to a new transcript `$1/$2` as the CLI's user, readable by it alone (mktemp makes
 * it 600), and prints its stat as LIST_SCRIPT does. The file appears whole (written aside, then
 * linked in), and an existing one is never replaced (`ln` refuses).
 */
const CREATE_SCRIPT = `set -e
tmp=$(mktemp "$1/.new-transcript-XXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
ln -- "$tmp" "$1/$2"
find "$1" -maxdepth 1 -type f -name "$2" ${STAT_FORMAT}`;

/**
 * The CLI's transcripts in an environment's sessions volume, read and removed through Docker:
 * a stat-only listing and batch reads by `exec` while the container runs, and reads through
 * the archive API, which work while it is stopped.
 */
@Injectable()
export class TranscriptsRepository {
  private readonly dir: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
  ) {
    this.dir = transcriptDirectory(config.agent.workdir);
  }

  path(id: string): string {
    return `${this.dir}/${id}.jsonl`;
  }

  /** Names, sizes and mtimes of the transcripts; the container must be running. */
  async list(container: string): Promise<TranscriptStat[]> {
    const listing = await this.docker.exec(container, {
      cmd: ['sh', '-c', LIST_SCRIPT, 'list-transcripts', this.dir],
      user: AGENT_USER,
    });
    return parseStats(listing.stdout);
  }

  /**
   * Writes a new transcript (a fork's) into the running container, as the CLI's user with mode
   * 600, and returns its stat; fails when the file exists or cannot be written.
   */
  async create(container: string, id: string, content: Buffer): Promise<TranscriptStat> {
    const created = await this.docker.exec(container, {
      cmd: ['sh', '-c', CREATE_SCRIPT, 'create-transcript', this.dir, `${id}.jsonl`],
      user: AGENT_USER,
      stdin: content,
    });
    const stat = created.exitCode === 0 ? parseStats(created.stdout)[0] : undefined;
    if (stat?.id !== id) throw new DockerOperationError('write the new transcript');
    return stat;
  }

  /**
   * Reads the given transcripts (the container must be running), each from where its earlier
   * read stopped, and hands each result to `onRead`.
   */
  async read(
    container: string,
    files: ReadonlyArray<TranscriptToRead>,
    onRead: (read: TranscriptRead) => void,
  ): Promise<void> {
    const from = new Map(files.map((file) => [file.id, file.from]));
    for (const batch of readBatches(files)) {
      const names = batch.map((file) => `${file.id}.jsonl`);
      await this.docker.readExecOutput(
        'read transcripts',
        container,
        {
          cmd: ['tar', '-cf', '-', '-C', this.dir, '--ignore-failed-read', '--', ...names],
          user: AGENT_USER,
        },
        (stdout) =>
          visitArchiveFiles(stdout, (file, content) => this.readEntry(file, content, from, onRead)),
      );
    }
  }

  /**
   * Reads every transcript through the archive API (for a stopped container never indexed);
   * false when the container or the folder does not exist.
   */
  async readAll(
    container: string,
    onRead: (read: TranscriptRead & TranscriptStat) => void,
  ): Promise<boolean> {
    const found = await this.docker.readArchive(
      'read the transcripts',
      container,
      this.dir,
      (archive) =>
        visitArchiveFiles(
          archive,
          (file, content) =>
            this.readEntry(file, content, new Map(), (read) =>
              onRead({ ...read, size: file.size, mtimeMs: file.mtime.getTime() }),
            ),
          { stripFirstComponent: true },
        ),
      this.config.docker.timeoutMs * FULL_READ_DEADLINE_FACTOR,
    );
    return found !== null;
  }

  /**
   * A page of a transcript's messages from `position`, read through the archive API as a stream
   * that is cut once the page is full; null when the transcript does not exist.
   */
  readMessages(
    container: string,
    id: string,
    position: MessagePosition,
    limit: number,
  ): Promise<MessagePage | null> {
    return this.readTranscript(container, id, (_file, content) =>
      readMessagePage(content, position, limit),
    );
  }

  /**
   * Every entry of a transcript, read whole through the archive API (a stopped container's too):
   * null when it does not exist, and `entries` null when it is larger than `maxBytes` (then it
   * is not read).
   */
  readEntries(
    container: string,
    id: string,
    maxBytes: number,
  ): Promise<{ size: number; entries: TranscriptEntry[] | null } | null> {
    return this.readTranscript(container, id, async (file, content) => ({
      size: file.size,
      entries: file.size > maxBytes ? null : await readTranscriptEntries(content),
    }));
  }

  /** What `read` makes of one transcript's file, streamed through the archive API; null when missing. */
  private async readTranscript<T>(
    container: string,
    id: string,
    read: (file: ArchiveFile, content: AsyncIterable<unknown>) => Promise<T>,
  ): Promise<T | null> {
    let result: T | null = null;
    await this.docker.readArchive('read a transcript', container, this.path(id), (archive) =>
      visitArchiveFiles(archive, async (file, content): Promise<VisitResult> => {
        result = await read(file, content);
        return 'stop';
      }),
    );
    return result;
  }

  /** Whether the transcript is on disk (one stat: a run start asks it). */
  async hasTranscript(container: string, id: string): Promise<boolean> {
    return (await this.docker.statPath(container, this.path(id))) !== null;
  }

  /** Whether the transcript, or the folder of its subagents, is on disk. */
  async exists(container: string, id: string): Promise<{ transcript: boolean; any: boolean }> {
    const [transcript, subagents] = await Promise.all([
      this.docker.statPath(container, this.path(id)),
      this.docker.statPath(container, `${this.dir}/${id}`),
    ]);
    return { transcript: transcript !== null, any: transcript !== null || subagents !== null };
  }

  /**
   * Removes the transcript, the subagent transcripts beside it and the CLI's other state of the
   * session, inside the running container as the CLI's user.
   */
  async remove(container: string, id: string): Promise<void> {
    const removed = await this.docker.exec(container, {
      cmd: ['rm', '-rf', '--', this.path(id), `${this.dir}/${id}`, ...sessionStatePaths(id)],
      user: AGENT_USER,
    });
    if (removed.exitCode !== 0) throw new DockerOperationError('delete the session files');
  }

  private async readEntry(
    file: ArchiveFile,
    content: AsyncIterable<unknown>,
    from: ReadonlyMap<string, ReadState | null>,
    onRead: (read: TranscriptRead) => void,
  ): Promise<void> {
    const id = sessionIdOfFile(file.name);
    if (id === null) return;
    // A file that shrank was rewritten: it is read again from the start.
    const start = from.get(id);
    const resume = start && start.bytes <= file.size ? start : null;
    onRead({ id, ...(await summarizeFrom(content, resume)) });
  }
}

/** The transcripts in `find -printf` lines of STAT_FORMAT; other files are left out. */
function parseStats(stdout: string): TranscriptStat[] {
  const stats: TranscriptStat[] = [];
  for (const line of stdout.split('\n')) {
    const [name, size, mtime] = line.split('\t');
    const id = sessionIdOfFile(name ?? '');
    if (id === null || size === undefined || mtime === undefined) continue;
    stats.push({ id, size: Number(size), mtimeMs: Math.round(Number(mtime) * 1000) });
  }
  return stats;
}

/** The files in groups of at most TAR_BATCH_FILES names and about TAR_BATCH_BYTES to transfer. */
export function* readBatches(files: readonly TranscriptToRead[]): Generator<TranscriptToRead[]> {
  let batch: TranscriptToRead[] = [];
  let bytes = 0;
  for (const file of files) {
    const size = file.size - (file.from?.bytes ?? 0);
    if (batch.length > 0 && (batch.length === TAR_BATCH_FILES || bytes + size > TAR_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(file);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
