import { Injectable } from '@nestjs/common';
import { SqlStore, SqlValue } from '../store/sql-store';
import { ReadState, TranscriptSummary } from './transcript';

/** What the index knows of a session's transcript file. */
export interface IndexedTranscript {
  size: number;
  mtimeMs: number;
  /** What a list shows, a torn last line included. */
  summary: TranscriptSummary;
  read: ReadState;
}

/** One session of an environment: a reserved id, a transcript on disk, or both. */
export interface SessionRecord {
  env: string;
  id: string;
  /** Reserved through the API (it stays listed without a transcript). */
  reserved: boolean;
  /** The title it was reserved with. */
  title: string | null;
  createdAt: string;
  updatedAt: string;
  transcript: IndexedTranscript | null;
}

export interface IndexedFile extends IndexedTranscript {
  id: string;
}

interface SessionRow {
  env: string;
  id: string;
  reserved: number;
  title: string | null;
  created_at: string;
  updated_at: string;
  transcript_size: number | null;
  transcript_mtime_ms: number | null;
  transcript_title: string | null;
  first_timestamp: string | null;
  message_count: number;
  skipped_lines: number;
  read_state: string | null;
}

/**
 * The `sessions` table: the index of every environment's sessions, reserved or found on disk,
 * with what a list shows of each. Listing pages through it and never reads a transcript.
 */
@Injectable()
export class SessionsRepository {
  constructor(private readonly store: SqlStore) {}

  async reserve(env: string, id: string, title: string | null): Promise<SessionRecord> {
    const createdAt = new Date().toISOString();
    await this.store.run(
      `INSERT INTO sessions (env, id, title, created_at, updated_at, reserved)
       VALUES (?, ?, ?, ?, ?, 1)`,
      [env, id, title, createdAt, createdAt],
    );
    return { env, id, reserved: true, title, createdAt, updatedAt: createdAt, transcript: null };
  }

  async find(env: string, id: string): Promise<SessionRecord | null> {
    const row = await this.store.get<SessionRow>(
      'SELECT * FROM sessions WHERE env = ? AND id = ?',
      [env, id],
    );
    return row ? toRecord(row) : null;
  }

  /** Newest first by `updatedAt`, then by id (descending), after the position given. */
  async page(
    env: string,
    limit: number,
    after?: { updatedAt: string; id: string },
  ): Promise<SessionRecord[]> {
    const rows = after
      ? await this.store.all<SessionRow>(
          `SELECT * FROM sessions WHERE env = ? AND (updated_at < ? OR (updated_at = ? AND id < ?))
           ORDER BY updated_at DESC, id DESC LIMIT ?`,
          [env, after.updatedAt, after.updatedAt, after.id, limit],
        )
      : await this.store.all<SessionRow>(
          'SELECT * FROM sessions WHERE env = ? ORDER BY updated_at DESC, id DESC LIMIT ?',
          [env, limit],
        );
    return rows.map(toRecord);
  }

  /** Every indexed transcript of the environment, by session id. */
  async transcripts(env: string): Promise<Map<string, IndexedTranscript>> {
    const rows = await this.store.all<SessionRow>(
      'SELECT * FROM sessions WHERE env = ? AND transcript_size IS NOT NULL',
      [env],
    );
    const indexed = new Map<string, IndexedTranscript>();
    for (const row of rows) {
      const transcript = transcriptOf(row);
      if (transcript) indexed.set(row.id, transcript);
    }
    return indexed;
  }

  /** Records what was read of these transcripts, in one transaction. */
  async saveTranscripts(env: string, files: readonly IndexedFile[]): Promise<void> {
    if (files.length === 0) return;
    await this.store.transaction(async (tx) => {
      // A reservation keeps its own creation time; a session found on disk takes its transcript's.
      for (const file of files) {
        await tx.run(
          `INSERT INTO sessions (env, id, reserved, title, created_at, updated_at, transcript_size,
             transcript_mtime_ms, transcript_title, first_timestamp, message_count, skipped_lines,
             read_state)
           VALUES (?, ?, 0, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (env, id) DO UPDATE SET
             created_at = CASE WHEN sessions.reserved = 1 THEN sessions.created_at
                               ELSE excluded.created_at END,
             updated_at = excluded.updated_at,
             transcript_size = excluded.transcript_size,
             transcript_mtime_ms = excluded.transcript_mtime_ms,
             transcript_title = excluded.transcript_title,
             first_timestamp = excluded.first_timestamp,
             message_count = excluded.message_count,
             skipped_lines = excluded.skipped_lines,
             read_state = excluded.read_state`,
          transcriptParams(env, file),
        );
      }
    });
  }

  /** These transcripts are gone: a reserved session stays (as new), any other leaves the index. */
  async dropTranscripts(env: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.store.transaction(async (tx) => {
      for (const id of ids) {
        await tx.run(
          `UPDATE sessions SET updated_at = created_at, transcript_size = NULL,
             transcript_mtime_ms = NULL, transcript_title = NULL, first_timestamp = NULL,
             message_count = 0, skipped_lines = 0, read_state = NULL
           WHERE env = ? AND id = ? AND reserved = 1`,
          [env, id],
        );
        await tx.run('DELETE FROM sessions WHERE env = ? AND id = ? AND reserved = 0', [env, id]);
      }
    });
  }

  /** True when there was one to delete. */
  async delete(env: string, id: string): Promise<boolean> {
    const { changes } = await this.store.run('DELETE FROM sessions WHERE env = ? AND id = ?', [
      env,
      id,
    ]);
    return changes > 0;
  }

  /** Whether the environment's transcripts were ever scanned into the index. */
  async wasScanned(env: string): Promise<boolean> {
    const row = await this.store.get('SELECT scanned_at FROM session_scans WHERE env = ?', [env]);
    return row !== undefined;
  }

  async markScanned(env: string): Promise<void> {
    await this.store.run(
      `INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)
       ON CONFLICT (env) DO UPDATE SET scanned_at = excluded.scanned_at`,
      [env, new Date().toISOString()],
    );
  }
}

function transcriptParams(env: string, file: IndexedFile): SqlValue[] {
  const updatedAt = wholeSecondsIso(file.mtimeMs);
  return [
    env,
    file.id,
    file.summary.firstTimestamp ?? updatedAt,
    updatedAt,
    file.size,
    file.mtimeMs,
    file.summary.title,
    file.summary.firstTimestamp,
    file.summary.messageCount,
    file.summary.skippedLines,
    JSON.stringify(file.read),
  ];
}

/** The list shows when a transcript changed to the second, as the archive API did before. */
function wholeSecondsIso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function transcriptOf(row: SessionRow): IndexedTranscript | null {
  const readState = row.read_state;
  if (row.transcript_size === null || readState === null) return null;
  return {
    size: row.transcript_size,
    mtimeMs: row.transcript_mtime_ms ?? 0,
    summary: {
      title: row.transcript_title,
      firstTimestamp: row.first_timestamp,
      messageCount: row.message_count,
      skippedLines: row.skipped_lines,
    },
    // Parsed only when asked for: the indexer needs it, a list page never does.
    get read(): ReadState {
      return JSON.parse(readState) as ReadState;
    },
  };
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    env: row.env,
    id: row.id,
    reserved: row.reserved === 1,
    title: row.title,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    transcript: transcriptOf(row),
  };
}
