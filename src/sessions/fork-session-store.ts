import type { SessionKey, SessionStore, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
import { TranscriptEntry } from './transcript';

/**
 * The SessionStore the Agent SDK's `forkSession` reads and writes through. Transcripts live in
 * the agent container, not on this host, so the parent's entries are read from there first; the
 * store hands them to the SDK, and keeps what the SDK writes for the one new session, for the
 * caller to put into the container. Any other key is refused.
 */
export class ForkSessionStore implements SessionStore {
  private written: { sessionId: string; entries: SessionStoreEntry[] } | null = null;

  constructor(
    private readonly parentId: string,
    private readonly parentEntries: readonly TranscriptEntry[],
  ) {}

  load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    const isParent = key.sessionId === this.parentId && key.subpath === undefined;
    return Promise.resolve(isParent ? [...this.parentEntries] : null);
  }

  append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    const { sessionId } = key;
    const isNewSession =
      key.subpath === undefined &&
      sessionId !== this.parentId &&
      (this.written === null || this.written.sessionId === sessionId);
    if (!isNewSession) {
      return Promise.reject(new Error(`A fork writes one new session, not ${keyName(key)}`));
    }
    this.written ??= { sessionId, entries: [] };
    this.written.entries.push(...entries);
    return Promise.resolve();
  }

  /** The new session's transcript, one entry per line; throws when the SDK wrote no such session. */
  transcriptOf(sessionId: string): Buffer {
    if (this.written?.sessionId !== sessionId) {
      throw new Error(`The fork wrote no session ${sessionId}`);
    }
    return Buffer.from(this.written.entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  }
}

function keyName(key: SessionKey): string {
  return key.subpath === undefined ? key.sessionId : `${key.sessionId}/${key.subpath}`;
}
