import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { KeyedLock } from '../common/keyed-lock';
import { AGENT_USER, sessionStatePaths } from '../agent/agent-layout';
import { ContainersService } from '../containers/containers.service';
import { EnvironmentPipe } from '../containers/environment.pipe';
import { DockerOperationError } from '../docker/docker.errors';
import { DockerService } from '../docker/docker.service';
import { ArchiveEntry } from '../docker/docker.types';
import { CreatedSessionDto, CreateSessionDto } from './dto/create-session.dto';
import { GetSessionQueryDto, SessionDetailDto } from './dto/session-detail.dto';
import {
  ListSessionsQueryDto,
  SessionListDto,
  SessionStatus,
  SessionSummaryDto,
} from './dto/session-summary.dto';
import { decodeCursor, encodeCursor } from '../common/http/cursor';
import { RunRegistry } from './run-registry';
import { SessionReservation, SessionReservations } from './session-reservations';
import {
  parseTranscript,
  sessionIdOfFile,
  summarizeTranscript,
  summaryOf,
  transcriptDirectory,
  TranscriptSummary,
} from './transcript';

/** Transcripts are read up to this size; beyond it the tail is left out (and counted skipped). */
const MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;
/** How much transcript text one list may hold in memory at once; the rest is read file by file. */
const LIST_CONTENT_BUDGET_BYTES = 32 * 1024 * 1024;

/** What a run needs to know about its session. */
export interface PreparedRun {
  sessionId: string;
  /** True when a transcript exists (the CLI continues it with `--resume`). */
  resume: boolean;
}

interface TranscriptFile {
  id: string;
  size: number;
  mtime: Date;
  summary: TranscriptSummary;
}

interface ListCursor {
  updatedAt: string;
  id: string;
}

interface MessageCursor {
  offset: number;
}

/**
 * Sessions of an environment: ids reserved in the store, and the CLI's transcripts in the
 * container's sessions volume. Transcripts are read through Docker's archive API, so listing and
 * reading work while the container is stopped; only deleting needs it running.
 */
@Injectable()
export class SessionsService {
  /** Parsed summaries per environment, per session, valid while the file's size and mtime hold. */
  private readonly summaries = new Map<string, Map<string, TranscriptFile>>();
  private readonly deletes = new KeyedLock();
  private readonly transcriptDir: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly docker: DockerService,
    private readonly containers: ContainersService,
    private readonly environments: EnvironmentPipe,
    private readonly reservations: SessionReservations,
    private readonly runs: RunRegistry,
  ) {
    this.transcriptDir = transcriptDirectory(config.agent.workdir);
  }

  createSession({ env, title }: CreateSessionDto): CreatedSessionDto {
    this.environments.transform(env);
    const reservation = this.reservations.create(env, randomUUID(), title ?? null);
    return {
      sessionId: reservation.id,
      env,
      createdAt: reservation.createdAt,
      title: reservation.title,
    };
  }

  async listSessions(env: string, query: ListSessionsQueryDto): Promise<SessionListDto> {
    const limit = query.limit ?? 20;
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor, isListCursor);
    const transcripts = new Map(
      (await this.readTranscriptSummaries(env)).map((file) => [file.id, file]),
    );
    const reservations = new Map(
      this.reservations.listForEnv(env).map((reservation) => [reservation.id, reservation]),
    );
    const ids = new Set([...transcripts.keys(), ...reservations.keys()]);
    const sessions = [...ids]
      .map((id) => this.toSummary(env, id, reservations.get(id) ?? null, transcripts.get(id)))
      .sort(newestFirst)
      .filter((session) => after === null || newestFirst(session, after) > 0);
    const items = sessions.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        sessions.length > limit && last
          ? encodeCursor({ updatedAt: last.updatedAt, id: last.id } satisfies ListCursor)
          : null,
    };
  }

  async getSession(env: string, id: string, query: GetSessionQueryDto): Promise<SessionDetailDto> {
    const limit = query.limit ?? 100;
    const offset =
      query.cursor === undefined ? 0 : decodeCursor(query.cursor, isMessageCursor).offset;
    const reservation = this.reservations.find(env, id);
    const file = await this.docker.readFile(
      this.containers.containerName(env),
      this.transcriptPath(id),
      MAX_TRANSCRIPT_BYTES,
    );
    if (reservation === null && file === null) throw sessionNotFound(env, id);
    const parsed = parseTranscript(file?.content.toString('utf8') ?? '');
    const summary = this.toSummary(
      env,
      id,
      reservation,
      file && {
        id,
        size: file.size,
        mtime: file.mtime,
        summary: summaryOf(parsed),
      },
    );
    const end = offset + limit;
    return {
      ...summary,
      messages: parsed.messages.slice(offset, end),
      nextCursor:
        end < parsed.messages.length ? encodeCursor({ offset: end } satisfies MessageCursor) : null,
      skippedLines: parsed.skippedLines,
    };
  }

  /**
   * Removes the transcript, the subagent transcripts beside it, the CLI's other state of the
   * session and the reservation. The files are removed inside the container (as the CLI's user),
   * which is started if it is stopped.
   */
  deleteSession(env: string, id: string): Promise<void> {
    return this.deletes.run(`${env}\u0000${id}`, async () => {
      // Held while the files go, so no run can start on the session meanwhile.
      const release = this.runs.holdSession(env, id);
      try {
        await this.removeSession(env, id);
      } finally {
        release();
      }
    });
  }

  private async removeSession(env: string, id: string): Promise<void> {
    const container = this.containers.containerName(env);
    const paths = [this.transcriptPath(id), `${this.transcriptDir}/${id}`];
    const found = await Promise.all(paths.map((path) => this.docker.statPath(container, path)));
    const onDisk = found.some((stat) => stat !== null);
    if (!onDisk && this.reservations.find(env, id) === null) throw sessionNotFound(env, id);
    if (onDisk) {
      await this.containers.ensureRunning(env);
      const removed = await this.docker.exec(container, {
        cmd: ['rm', '-rf', '--', ...paths, ...sessionStatePaths(id)],
        user: AGENT_USER,
      });
      if (removed.exitCode !== 0) throw new DockerOperationError('delete the session files');
    }
    this.reservations.delete(env, id);
    this.summaries.get(env)?.delete(id);
  }

  /**
   * Decides how a run starts its session: a new id, a reserved one (`--session-id`, no
   * transcript yet) or an existing transcript (`--resume`). Throws 404 SESSION_NOT_FOUND for an
   * id that is neither reserved nor on disk in this environment.
   */
  async prepareRun(env: string, sessionId?: string): Promise<PreparedRun> {
    this.environments.transform(env);
    if (sessionId === undefined) return { sessionId: randomUUID(), resume: false };
    const id = sessionId.toLowerCase();
    const stat = await this.docker.statPath(
      this.containers.containerName(env),
      this.transcriptPath(id),
    );
    if (stat !== null && !stat.isDirectory) return { sessionId: id, resume: true };
    if (this.reservations.find(env, id) !== null) return { sessionId: id, resume: false };
    throw sessionNotFound(env, id);
  }

  private transcriptPath(id: string): string {
    return `${this.transcriptDir}/${id}.jsonl`;
  }

  /**
   * The summaries of every transcript in the environment's container, parsing only the files
   * whose size or mtime changed since the last list. Empty when the container does not exist.
   */
  private async readTranscriptSummaries(env: string): Promise<TranscriptFile[]> {
    const container = this.containers.containerName(env);
    const cached = this.summaries.get(env) ?? new Map<string, TranscriptFile>();
    const isFresh = (id: string, entry: Omit<ArchiveEntry, 'content'>): boolean => {
      const known = cached.get(id);
      return known?.size === entry.size && known.mtime.getTime() === entry.mtime.getTime();
    };
    let budget = LIST_CONTENT_BUDGET_BYTES;
    const entries = await this.docker.readDirectoryArchive(container, this.transcriptDir, {
      maxContentBytes: MAX_TRANSCRIPT_BYTES,
      wantContent: (entry) => {
        const id = sessionIdOfFile(entry.name);
        if (id === null || isFresh(id, entry) || entry.size > budget) return false;
        budget -= entry.size;
        return true;
      },
    });
    const files = new Map<string, TranscriptFile>();
    for (const entry of entries ?? []) {
      const id = sessionIdOfFile(entry.name);
      if (id === null) continue;
      const known = cached.get(id);
      if (known && isFresh(id, entry)) {
        files.set(id, known);
        continue;
      }
      const text = entry.content ?? (await this.readTranscript(container, id));
      if (text === null) continue;
      files.set(id, {
        id,
        size: entry.size,
        mtime: entry.mtime,
        summary: summarizeTranscript(text.toString('utf8')),
      });
    }
    this.summaries.set(env, files);
    return [...files.values()];
  }

  private async readTranscript(container: string, id: string): Promise<Buffer | null> {
    const file = await this.docker.readFile(
      container,
      this.transcriptPath(id),
      MAX_TRANSCRIPT_BYTES,
    );
    return file?.content ?? null;
  }

  private toSummary(
    env: string,
    id: string,
    reservation: SessionReservation | null,
    file: TranscriptFile | null | undefined,
  ): SessionSummaryDto {
    const createdAt =
      reservation?.createdAt ?? file?.summary.firstTimestamp ?? file?.mtime.toISOString() ?? '';
    return {
      id,
      title: reservation?.title ?? file?.summary.title ?? null,
      createdAt,
      updatedAt: file ? file.mtime.toISOString() : createdAt,
      messageCount: file?.summary.messageCount ?? 0,
      sizeBytes: file?.size ?? 0,
      status: this.runs.isSessionRunning(env, id)
        ? SessionStatus.running
        : file
          ? SessionStatus.idle
          : SessionStatus.new,
    };
  }
}

/** Newest first by `updatedAt`, then by id (descending), so every position is unique. */
function newestFirst(a: ListCursor, b: ListCursor): number {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt < b.updatedAt ? 1 : -1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

function isListCursor(value: unknown): value is ListCursor {
  const cursor = value as Partial<ListCursor> | null;
  return typeof cursor?.updatedAt === 'string' && typeof cursor.id === 'string';
}

function isMessageCursor(value: unknown): value is MessageCursor {
  const offset = (value as Partial<MessageCursor> | null)?.offset;
  return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0;
}

function sessionNotFound(env: string, id: string): ApiError {
  return new ApiError(
    HttpStatus.NOT_FOUND,
    ErrorCode.SESSION_NOT_FOUND,
    `No session ${id} in environment ${env}`,
  );
}
