import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ServiceEvents } from '../common/events/service-events';
import { decodeCursor, encodeCursor } from '../common/http/cursor';
import { KeyedLock } from '../common/keyed-lock';
import { ContainersService } from '../containers/containers.service';
import { CreatedSessionDto, CreateSessionDto } from './dto/create-session.dto';
import { GetSessionQueryDto, SessionDetailDto } from './dto/session-detail.dto';
import { ListSessionsQueryDto, SessionListDto, SessionSummaryDto } from './dto/session-summary.dto';
import { RunRegistry } from './run-registry';
import { SessionIndexer } from './session-indexer';
import { toSessionSummary } from './session-summary';
import { sessionNotFound } from './sessions.errors';
import { SessionRecord, SessionsRepository } from './sessions.repository';
import { MessagePosition } from './transcript';
import { TranscriptsRepository } from './transcripts.repository';

/** What a run needs to know about its session. */
export interface PreparedRun {
  sessionId: string;
  /** True when a transcript exists (the CLI continues it with `--resume`). */
  resume: boolean;
}

interface ListCursor {
  updatedAt: string;
  id: string;
}

/**
 * Sessions of an environment: ids reserved through the API and the CLI's transcripts in the
 * container's sessions volume. Lists come from the index the SessionIndexer keeps; a session's
 * messages are read page by page from its transcript, which works while the container is
 * stopped. Only deleting needs it running.
 */
@Injectable()
export class SessionsService {
  private readonly deletes = new KeyedLock();

  constructor(
    private readonly containers: ContainersService,
    private readonly sessions: SessionsRepository,
    private readonly transcripts: TranscriptsRepository,
    private readonly indexer: SessionIndexer,
    private readonly runs: RunRegistry,
    private readonly serviceEvents: ServiceEvents,
  ) {}

  async createSession({ env, title }: CreateSessionDto): Promise<CreatedSessionDto> {
    this.containers.checkEnvironment(env);
    const session = await this.sessions.reserve(env, randomUUID(), title ?? null);
    return { sessionId: session.id, env, createdAt: session.createdAt, title: session.title };
  }

  async listSessions(env: string, query: ListSessionsQueryDto): Promise<SessionListDto> {
    const limit = query.limit ?? 20;
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, isListCursor);
    // A list starts from a fresh scan; its later pages go on through the same index.
    if (after === undefined) await this.indexer.refresh(env);
    const records = await this.sessions.page(env, limit + 1, after);
    const items = records.slice(0, limit).map((record) => this.toSummary(record));
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        records.length > limit && last
          ? encodeCursor({ updatedAt: last.updatedAt, id: last.id } satisfies ListCursor)
          : null,
    };
  }

  async getSession(env: string, id: string, query: GetSessionQueryDto): Promise<SessionDetailDto> {
    const limit = query.limit ?? 100;
    const position: MessagePosition =
      query.cursor === undefined ? { byte: 0, index: 0 } : decodeCursor(query.cursor, isPosition);
    if (query.cursor === undefined) await this.indexer.refresh(env);
    const record = await this.sessions.find(env, id);
    const page = await this.transcripts.readMessages(
      this.containers.containerName(env),
      id,
      position,
      limit,
    );
    if (record === null && page === null) throw sessionNotFound(env, id);
    const summary = record ? this.toSummary(record) : this.toSummary(unindexed(env, id));
    return {
      ...summary,
      messages: page?.messages ?? [],
      nextCursor: page?.next ? encodeCursor(page.next) : null,
      skippedLines: record?.transcript?.summary.skippedLines ?? 0,
    };
  }

  /**
   * Removes the transcript, the subagent transcripts beside it, the CLI's other state of the
   * session and its record. The files are removed inside the container, which is started if
   * it is stopped.
   */
  deleteSession(env: string, id: string): Promise<void> {
    return this.deletes.run(`${env}\u0000${id}`, async () => {
      // Held while the files go, so no run can start on the session here meanwhile.
      const release = this.runs.holdSession(env, id);
      try {
        await this.runs.checkNotRunningElsewhere(env, id);
        await this.removeSession(env, id);
      } finally {
        release();
      }
    });
  }

  /**
   * Decides how a run starts its session: a new id, a reserved one (`--session-id`, no
   * transcript yet) or an existing transcript (`--resume`). Throws 404 SESSION_NOT_FOUND for an
   * id that is neither reserved nor on disk in this environment.
   */
  async prepareRun(env: string, sessionId?: string): Promise<PreparedRun> {
    this.containers.checkEnvironment(env);
    if (sessionId === undefined) return { sessionId: randomUUID(), resume: false };
    const id = sessionId.toLowerCase();
    if (await this.transcripts.hasTranscript(this.containers.containerName(env), id)) {
      return { sessionId: id, resume: true };
    }
    if ((await this.sessions.find(env, id))?.reserved) return { sessionId: id, resume: false };
    throw sessionNotFound(env, id);
  }

  private async removeSession(env: string, id: string): Promise<void> {
    const container = this.containers.containerName(env);
    const onDisk = await this.transcripts.exists(container, id);
    if (!onDisk.any && !(await this.sessions.find(env, id))?.reserved) {
      throw sessionNotFound(env, id);
    }
    if (onDisk.any) {
      await this.containers.whileRunning(env, () => this.transcripts.remove(container, id));
    }
    await this.sessions.delete(env, id);
    this.serviceEvents.emit('session.deleted', {
      env,
      sessionId: id,
      deletedAt: new Date().toISOString(),
    });
  }

  private toSummary(record: SessionRecord): SessionSummaryDto {
    return toSessionSummary(record, this.runs.isSessionRunning(record.env, record.id));
  }
}

/** A transcript on disk that no scan has indexed yet. */
function unindexed(env: string, id: string): SessionRecord {
  const now = new Date().toISOString();
  return {
    env,
    id,
    reserved: false,
    title: null,
    createdAt: now,
    updatedAt: now,
    transcript: null,
  };
}

function isListCursor(value: unknown): value is ListCursor {
  const cursor = value as Partial<ListCursor> | null;
  return typeof cursor?.updatedAt === 'string' && typeof cursor.id === 'string';
}

function isPosition(value: unknown): value is MessagePosition {
  const { byte, index } = (value ?? {}) as Partial<MessagePosition>;
  return [byte, index].every(
    (number) => typeof number === 'number' && Number.isSafeInteger(number) && number >= 0,
  );
}
