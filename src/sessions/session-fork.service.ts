import { Injectable } from '@nestjs/common';
import { loadAgentSdk } from '../agent/agent-sdk.loader';
import { ContainersService } from '../containers/containers.service';
import { ForkedSessionDto, ForkSessionDto } from './dto/fork-session.dto';
import { ForkSessionStore } from './fork-session-store';
import { RunRegistry } from './run-registry';
import { toSessionSummary } from './session-summary';
import {
  messageNotFound,
  sessionEmpty,
  sessionNotFound,
  transcriptTooLarge,
} from './sessions.errors';
import { SessionsRepository } from './sessions.repository';
import { forkableMessageIds, summarizeTranscript, TranscriptEntry } from './transcript';
import { TranscriptsRepository } from './transcripts.repository';

/** A fork holds its parent's whole transcript in memory (the SDK copies entries), so it is bounded. */
export const FORK_MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;

/**
 * Forks sessions with the Agent SDK's `forkSession`: a new session whose transcript is a copy of
 * the parent's history (fresh message ids, the parent chain kept), whole or up to a message. The
 * parent's transcript is only read; the new one is written beside it in the container.
 */
@Injectable()
export class SessionForkService {
  constructor(
    private readonly containers: ContainersService,
    private readonly sessions: SessionsRepository,
    private readonly transcripts: TranscriptsRepository,
    private readonly runs: RunRegistry,
  ) {}

  /**
   * Throws 409 SESSION_BUSY while a run on any replica (or a delete) holds the parent: its
   * history is moving.
   * The fork holds nothing itself, so a run queued meanwhile never waits on it: the parent is
   * only read, and a run that starts during the read leaves the fork a prefix of its history
   * (the archive API copies the size it saw at the start; a torn last line is left out).
   */
  async forkSession(
    env: string,
    parentId: string,
    { upToMessageId, title }: ForkSessionDto,
  ): Promise<ForkedSessionDto> {
    this.runs.checkNotRunning(env, parentId);
    await this.runs.checkNotRunningElsewhere(env, parentId);
    const messageId = upToMessageId?.toLowerCase();
    const container = this.containers.containerName(env);
    const parent = await this.readParent(env, container, parentId);
    const forkable = forkableMessageIds(parent);
    if (forkable.size === 0) throw sessionEmpty(parentId);
    if (messageId !== undefined && !forkable.has(messageId)) {
      throw messageNotFound(parentId, messageId);
    }

    const store = new ForkSessionStore(parentId, parent);
    const { forkSession } = await loadAgentSdk();
    const { sessionId } = await forkSession(parentId, {
      upToMessageId: messageId,
      title,
      sessionStore: store,
    });
    const transcript = store.transcriptOf(sessionId);

    const stat = await this.containers.whileRunning(env, () =>
      this.transcripts.create(container, sessionId, transcript),
    );
    // Indexed now, so that the answer and the next list show it without a scan.
    const summary = summarizeTranscript(transcript.toString('utf8'));
    await this.sessions.saveTranscripts(env, [
      { ...stat, summary, read: { bytes: transcript.length, summary } },
    ]);
    const record = await this.sessions.find(env, sessionId);
    if (record === null) throw new Error(`The fork ${sessionId} is not in the index`);
    return {
      ...toSessionSummary(record, false),
      forkedFrom: { sessionId: parentId, upToMessageId: messageId ?? null },
    };
  }

  /** The parent's entries; 404 when it is neither on disk nor reserved, 409 when only reserved. */
  private async readParent(env: string, container: string, id: string): Promise<TranscriptEntry[]> {
    const read = await this.transcripts.readEntries(container, id, FORK_MAX_TRANSCRIPT_BYTES);
    if (read === null) {
      const reserved = (await this.sessions.find(env, id))?.reserved;
      throw reserved ? sessionEmpty(id) : sessionNotFound(env, id);
    }
    if (read.entries === null) throw transcriptTooLarge(id, read.size, FORK_MAX_TRANSCRIPT_BYTES);
    return read.entries;
  }
}
