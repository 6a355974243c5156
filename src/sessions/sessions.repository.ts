import { Injectable } from '@nestjs/common';
import { Statement } from 'better-sqlite3';
import { DatabaseService } from '../store/database.service';
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
  private readonly insertReservation: Statement<[string, string, string | null, string, string]>;
  private readonly selectOne: Statement<[string, string], SessionRow>;
  private readonly selectFirstPage: Statement<[string, number], SessionRow>;
  private readonly selectPageAfter: Statement<[string, string, string, string, number], SessionRow>;
  private readonly selectTranscripts: Statement<[string], SessionRow>;
  private readonly upsertTranscript: Statement<unknown[]>;
  private readonly clearTranscript: Statement<[string, string]>;
  private readonly deleteUnreserved: Statement<[string, string]>;
  private readonly deleteOne: Statement<[string, string]>;
  private readonly selectScan: Statement<[string], { scanned_at: string }>;
  private readonly upsertScan: Statement<[string, string]>;
  private readonly saveFiles: (env: string, files: readonly IndexedFile[]) => void;
  private readonly dropFiles: (env: string, ids: readonly string[]) => void;

  constructor(database: DatabaseService) {
    const { db } = database;
    this.insertReservation = db.prepare(
      `INSERT INTO sessions (env, id, title, created_at, updated_at, reserved)
         VALUES (?, ?, ?, ?, ?, 1)`,
    );
    this.selectOne = db.prepare('SELECT * FROM sessions WHERE env = ? AND id = ?');
    this.selectFirstPage = db.prepare(
      'SELECT * FROM sessions WHERE env = ? ORDER BY updated_at DESC, id DESC LIMIT ?',
    );
    this.selectPageAfter = db.prepare(
      `SELECT * FROM sessions WHERE env = ? AND (updated_at < ? OR (updated_at = ? AND id < ?))
         ORDER BY updated_at DESC, id DESC LIMIT ?`,
    );
    this.selectTranscripts = db.prepare(
      'SELECT * FROM sessions WHERE env = ? AND transcript_size IS NOT NULL',
    );
    // A reservation keeps its own creation time; a session found on disk takes its transcript's.
    this.upsertTranscript = db.prepare(
      `INSERT INTO sessions (env, id, reserved, title, created_at, updated_at, transcript_size,
           transcript_mtime_ms, transcript_title, first_timestamp, message_count, skipped_lines,
           read_state)
         VALUES (?, ?, 0, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (env, id) DO UPDATE SET
           created_at = CASE WHEN reserved = 1 THEN created_at ELSE excluded.created_at END,
           updated_at = excluded.updated_at,
           transcript_size = excluded.transcript_size,
           transcript_mtime_ms = excluded.transcript_mtime_ms,
           transcript_title = excluded.transcript_title,
           first_timestamp = excluded.first_timestamp,
           message_count = excluded.message_count,
           skipped_lines = excluded.skipped_lines,
           read_state = excluded.read_state`,
    );
    this.clearTranscript = db.prepare(
      `UPDATE sessions SET updated_at = created_at, transcript_size = NULL,
           transcript_mtime_ms = NULL, transcript_title = NULL, first_timestamp = NULL,
           message_count = 0, skipped_lines = 0, read_state = NULL
         WHERE env = ? AND id = ? AND reserved = 1`,
    );
    this.deleteUnreserved = db.prepare(
      'DELETE FROM sessions WHERE env = ? AND id = ? AND reserved = 0',
    );
    this.deleteOne = db.prepare('DELETE FROM sessions WHERE env = ? AND id = ?');
    this.selectScan = db.prepare('SELECT scanned_at FROM session_scans WHERE env = ?');
    this.upsertScan = db.prepare(
      `INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)
         ON CONFLICT (env) DO UPDATE SET scanned_at = excluded.scanned_at`,
    );
    this.saveFiles = db.transaction((env: string, files: readonly IndexedFile[]) => {
      for (const file of files) this.upsertTranscript.run(...transcriptParams(env, file));
    });
    this.dropFiles = db.transaction((env: string, ids: readonly string[]) => {
      for (const id of ids) {
        this.clearTranscript.run(env, id);
        this.deleteUnreserved.run(env, id);
      }
    });
  }

  reserve(env: string, id: string, title: string | null): SessionRecord {
    const createdAt = new Date().toISOString();
    this.insertReservation.run(env, id, title, createdAt, createdAt);
    return { env, id, reserved: true, title, createdAt, updatedAt: createdAt, transcript: null };
  }

  find(env: string, id: string): SessionRecord | null {
    const row = this.selectOne.get(env, id);
    return row ? toRecord(row) : null;
  }

  /** Newest first by `updatedAt`, then by id (descending), after the position given. */
  page(env: string, limit: number, after?: { updatedAt: string; id: string }): SessionRecord[] {
    const rows = after
      ? this.selectPageAfter.all(env, after.updatedAt, after.updatedAt, after.id, limit)
      : this.selectFirstPage.all(env, limit);
    return rows.map(toRecord);
  }

  /** Every indexed transcript of the environment, by session id. */
  transcripts(env: string): Map<string, IndexedTranscript> {
    const indexed = new Map<string, IndexedTranscript>();
    for (const row of this.selectTranscripts.iterate(env)) {
      const transcript = transcriptOf(row);
      if (transcript) indexed.set(row.id, transcript);
    }
    return indexed;
  }

  /** Records what was read of these transcripts, in one transaction. */
  saveTranscripts(env: string, files: readonly IndexedFile[]): void {
    if (files.length > 0) this.saveFiles(env, files);
  }

  /** These transcripts are gone: a reserved session stays (as new), any other leaves the index. */
  dropTranscripts(env: string, ids: readonly string[]): void {
    if (ids.length > 0) this.dropFiles(env, ids);
  }

  /** True when there was one to delete. */
  delete(env: string, id: string): boolean {
    return this.deleteOne.run(env, id).changes > 0;
  }

  /** Whether the environment's transcripts were ever scanned into the index. */
  wasScanned(env: string): boolean {
    return this.selectScan.get(env) !== undefined;
  }

  markScanned(env: string): void {
    this.upsertScan.run(env, new Date().toISOString());
  }
}

function transcriptParams(env: string, file: IndexedFile): unknown[] {
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
