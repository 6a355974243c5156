import { Injectable } from '@nestjs/common';
import type { RunEnded } from '../common/events/service-events';
import { SqlExecutor, SqlStore, SqlTransaction } from '../store/sql-store';
import { ExecutionRequest } from './execution-request';
import { ExecutionStatus } from './execution-status';

/**
 * A run as the history list shows it: everything but the stored request and result message. Its
 * end is told with the same fields, less the prompt and the counts.
 */
export interface ExecutionSummary extends RunEnded {
  status: ExecutionStatus;
  prompt: string;
  exitCode: number | null;
  eventCount: number;
  eventsDropped: number;
}

/** A whole run. */
export interface ExecutionRecord extends ExecutionSummary {
  request: ExecutionRequest;
  /** The CLI's result message as JSON, as it sent it. */
  resultMessage: string | null;
}

export type ExecutionEnd = Pick<
  ExecutionRecord,
  | 'status'
  | 'exitCode'
  | 'result'
  | 'truncated'
  | 'costUsd'
  | 'usage'
  | 'structuredOutput'
  | 'resultMessage'
  | 'error'
  | 'errorCode'
>;

/** The statuses of a run that has not ended, and the SQL condition that keeps them. */
const IN_FLIGHT_STATUSES: readonly ExecutionStatus[] = [
  ExecutionStatus.queued,
  ExecutionStatus.running,
];
const IN_FLIGHT = `status IN (${IN_FLIGHT_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/** What a submit records of a new run. */
export type NewExecution = Pick<
  ExecutionRecord,
  'id' | 'env' | 'sessionId' | 'request' | 'createdAt'
> & {
  /** The replica that took the submit (ReplicaBus.replicaId). */
  ownerReplica: string;
};

/** A run queued or running, and the replica that owns it. */
export interface InFlightRun {
  id: string;
  env: string;
  status: ExecutionStatus;
  /** null: recorded before runs had owners. */
  ownerReplica: string | null;
}

export interface StoredEvent {
  seq: number;
  type: string;
  data: string;
}

/**
 * A replay's page: small enough that a slow reader never pins much of a run's events. Bytes of
 * event data, counted as the recorder counts them (string length).
 */
const EVENT_PAGE_EVENTS = 100;
const EVENT_PAGE_BYTES = 256 * 1024;

export interface ExecutionFilter {
  env?: string;
  /** Only these environments' runs (a scoped token's). */
  inEnvironments?: readonly string[];
  sessionId?: string;
  status?: ExecutionStatus;
  /** Page after this (createdAt, id), newest first. */
  before?: { createdAt: string; id: string };
  limit: number;
}

interface SummaryRow {
  id: string;
  env: string;
  session_id: string;
  status: ExecutionStatus;
  prompt: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  result: string | null;
  truncated: number;
  cost_usd: number | null;
  spent_usd: number | null;
  usage: string | null;
  structured_output: string | null;
  error: string | null;
  error_code: string | null;
  event_count: number;
  events_dropped: number;
}

interface ExecutionRow extends SummaryRow {
  request: string;
  result_message: string | null;
}

/** The run history: the `executions` table and each run's stored stream events. */
@Injectable()
export class ExecutionsRepository {
  /** The list's columns: the prompt is taken out of the stored request, the rest is left unread. */
  private readonly summaryColumns: string;

  constructor(private readonly store: SqlStore) {
    this.summaryColumns = `id, env, session_id, status,
      ${store.dialect.jsonText('request', 'prompt')} AS prompt, created_at, started_at,
      finished_at, exit_code, result, truncated, cost_usd, spent_usd, usage, structured_output,
      error, error_code, event_count, events_dropped`;
  }

  /**
   * Records a queued run, the token that submitted it (its runs count against its quota) and the
   * replica that owns it (runs it, and holds what of it lives in memory).
   */
  async insert(
    record: NewExecution,
    tokenId: string,
    executor: SqlExecutor = this.store,
  ): Promise<void> {
    await executor.run(
      `INSERT INTO executions (id, env, session_id, status, request, created_at, token_id,
         owner_replica)
       VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
      [
        record.id,
        record.env,
        record.sessionId,
        JSON.stringify(record.request),
        record.createdAt,
        tokenId,
        record.ownerReplica,
      ],
    );
  }

  /** The replica that owns the run, or null when the run is unknown (or predates owners). */
  async ownerOf(id: string, executor: SqlExecutor = this.store): Promise<string | null> {
    const row = await executor.get<{ owner_replica: string | null }>(
      'SELECT owner_replica FROM executions WHERE id = ?',
      [id],
    );
    return row?.owner_replica ?? null;
  }

  async delete(id: string): Promise<void> {
    await this.store.run('DELETE FROM executions WHERE id = ?', [id]);
  }

  /** Marks the run running, unless it has ended (another replica may have ended it meanwhile). */
  async markRunning(id: string, startedAt: string): Promise<void> {
    await this.store.run(
      `UPDATE executions SET status = 'running', started_at = ?
       WHERE id = ? AND ${IN_FLIGHT}`,
      [startedAt, id],
    );
  }

  /**
   * Records the run's end, unless it has one already (a replica cut off for longer than its lease
   * comes back to runs another ended `interrupted`: that end stays). Answers whether it was recorded.
   */
  finish(id: string, end: ExecutionEnd, finishedAt: string): Promise<boolean> {
    return this.writeEnd(id, end, finishedAt, IN_FLIGHT_STATUSES);
  }

  /**
   * Records the run's end only while the run is still `status`: of two replicas that end one run,
   * one does. Answers whether it was recorded.
   */
  finishIfStill(
    status: ExecutionStatus,
    id: string,
    end: ExecutionEnd,
    finishedAt: string,
  ): Promise<boolean> {
    return this.writeEnd(id, end, finishedAt, [status]);
  }

  private writeEnd(
    id: string,
    end: ExecutionEnd,
    finishedAt: string,
    onlyFrom: readonly ExecutionStatus[],
  ): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const totalBefore = end.costUsd === null ? 0 : await sessionTotalBefore(tx, id);
      const { changes } = await tx.run(
        `UPDATE executions SET status = ?, finished_at = ?, exit_code = ?, result = ?,
           truncated = ?, cost_usd = ?, spent_usd = ?, usage = ?, structured_output = ?,
           result_message = ?, error = ?, error_code = ?
         WHERE id = ? AND status IN (${onlyFrom.map(() => '?').join(', ')})`,
        [
          end.status,
          finishedAt,
          end.exitCode,
          end.result,
          end.truncated ? 1 : 0,
          end.costUsd,
          end.costUsd === null ? null : ownSpend(end.costUsd, totalBefore),
          end.usage ? JSON.stringify(end.usage) : null,
          end.structuredOutput ? JSON.stringify(end.structuredOutput) : null,
          end.resultMessage,
          end.error,
          end.errorCode,
          id,
          ...onlyFrom,
        ],
      );
      return changes > 0;
    });
  }

  /** USD spent by the environment's runs that finished after `since` (an ISO time). */
  async spentSince(
    env: string,
    since: string,
    executor: SqlExecutor = this.store,
  ): Promise<number> {
    const row = await executor.get<{ spent: number | null }>(
      'SELECT SUM(spent_usd) AS spent FROM executions WHERE env = ? AND finished_at > ?',
      [env, since],
    );
    return row?.spent ?? 0;
  }

  /** The environment's spending runs that finished after `since`, oldest first. */
  spendingSince(
    env: string,
    since: string,
    executor: SqlExecutor = this.store,
  ): Promise<{ finishedAt: string; spentUsd: number }[]> {
    return executor.all(
      `SELECT finished_at AS "finishedAt", spent_usd AS "spentUsd" FROM executions
       WHERE env = ? AND finished_at > ? AND spent_usd > 0 ORDER BY finished_at`,
      [env, since],
    );
  }

  /** When the token's runs created after `since` (an ISO time) were created, oldest first. */
  async submittedSince(
    tokenId: string,
    since: string,
    executor: SqlExecutor = this.store,
  ): Promise<string[]> {
    const rows = await executor.all<{ created_at: string }>(
      'SELECT created_at FROM executions WHERE token_id = ? AND created_at > ? ORDER BY created_at',
      [tokenId, since],
    );
    return rows.map((row) => row.created_at);
  }

  async get(id: string, executor: SqlExecutor = this.store): Promise<ExecutionRecord | null> {
    const row = await executor.get<ExecutionRow>(
      `SELECT ${this.summaryColumns}, request, result_message FROM executions WHERE id = ?`,
      [id],
    );
    return row ? toRecord(row) : null;
  }

  /** When the run ended, or null while it has not (or is not in the history). */
  async finishedAt(id: string): Promise<string | null> {
    const row = await this.store.get<{ finished_at: string | null }>(
      'SELECT finished_at FROM executions WHERE id = ?',
      [id],
    );
    return row?.finished_at ?? null;
  }

  async list(filter: ExecutionFilter): Promise<ExecutionSummary[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const match = (clause: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    match('env = ?', filter.env);
    if (filter.inEnvironments) {
      // An empty scope matches nothing (`IN ()` is not SQL everywhere).
      where.push(
        filter.inEnvironments.length === 0
          ? '1 = 0'
          : `env IN (${filter.inEnvironments.map(() => '?').join(', ')})`,
      );
      params.push(...filter.inEnvironments);
    }
    match('session_id = ?', filter.sessionId);
    match('status = ?', filter.status);
    if (filter.before) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      params.push(filter.before.createdAt, filter.before.createdAt, filter.before.id);
    }
    const sql = `SELECT ${this.summaryColumns} FROM executions
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = await this.store.all<SummaryRow>(sql, [...params, filter.limit]);
    return rows.map(toSummary);
  }

  /** The runs queued or running, with their owners. */
  inFlight(): Promise<InFlightRun[]> {
    return this.store.all<InFlightRun>(
      `SELECT id, env, status, owner_replica AS "ownerReplica" FROM executions
       WHERE ${IN_FLIGHT}`,
    );
  }

  /** Whether a run of the environment is queued or running, on any replica. */
  async hasRunInFlight(env: string): Promise<boolean> {
    const row = await this.store.get<{ found: number }>(
      `SELECT 1 AS found FROM executions WHERE env = ? AND ${IN_FLIGHT} LIMIT 1`,
      [env],
    );
    return row !== undefined;
  }

  /** Stores one event, or counts it as dropped when it is past the run's bounds. */
  appendEvent(id: string, event: StoredEvent, store: boolean): Promise<void> {
    return this.store.transaction(async (tx) => {
      if (store) {
        await tx.run(
          'INSERT INTO execution_events (execution_id, seq, type, data) VALUES (?, ?, ?, ?)',
          [id, event.seq, event.type, event.data],
        );
      }
      await tx.run(
        `UPDATE executions SET event_count = event_count + 1,
           events_dropped = events_dropped + ? WHERE id = ?`,
        [store ? 0 : 1, id],
      );
    });
  }

  /**
   * One page of the run's stored events after `afterSeq`, in order: at most EVENT_PAGE_EVENTS, and
   * no more once EVENT_PAGE_BYTES of data are read (but always one event, however large). A run may
   * hold EVENTS_MAX_BYTES_PER_RUN of events; a replay reads them page by page, never all at once.
   */
  async eventsAfter(id: string, afterSeq: number): Promise<StoredEvent[]> {
    const rows = await this.store.all<StoredEvent>(
      `SELECT seq, type, data FROM execution_events WHERE execution_id = ? AND seq > ?
       ORDER BY seq LIMIT ?`,
      [id, afterSeq, EVENT_PAGE_EVENTS],
    );
    let bytes = 0;
    const full = rows.findIndex((row) => (bytes += row.data.length) >= EVENT_PAGE_BYTES);
    return full === -1 ? rows : rows.slice(0, full + 1);
  }

  /** Deletes runs (and their events) created before `cutoff`; returns how many. */
  async pruneBefore(cutoff: string): Promise<number> {
    const { changes } = await this.store.run(
      `DELETE FROM executions WHERE created_at < ? AND NOT ${IN_FLIGHT}`,
      [cutoff],
    );
    return changes;
  }
}

/** The session's running cost as the last run before `id` to report one left it (0: none). */
async function sessionTotalBefore(tx: SqlTransaction, id: string): Promise<number> {
  const row = await tx.get<{ cost_usd: number }>(
    `SELECT previous.cost_usd FROM executions AS run
     JOIN executions AS previous
       ON previous.env = run.env AND previous.session_id = run.session_id
     WHERE run.id = ? AND previous.id <> ? AND previous.cost_usd IS NOT NULL
     ORDER BY previous.finished_at DESC LIMIT 1`,
    [id, id],
  );
  return row?.cost_usd ?? 0;
}

/**
 * What a run spent of its own. The CLI's cost is the session's running total: a resumed session
 * starts from the total its transcript saved, and a warm CLI adds up its turns. A total below the
 * one before means the session started over (a `/clear`), so all of it is the run's.
 */
function ownSpend(total: number, totalBefore: number): number {
  return total >= totalBefore ? total - totalBefore : total;
}

function toRecord(row: ExecutionRow): ExecutionRecord {
  return {
    ...toSummary(row),
    request: JSON.parse(row.request) as ExecutionRequest,
    resultMessage: row.result_message,
  };
}

function toSummary(row: SummaryRow): ExecutionSummary {
  return {
    id: row.id,
    env: row.env,
    sessionId: row.session_id,
    status: row.status,
    prompt: row.prompt,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    result: row.result,
    truncated: row.truncated === 1,
    costUsd: row.cost_usd,
    spentUsd: row.spent_usd,
    usage: row.usage ? (JSON.parse(row.usage) as Record<string, unknown>) : null,
    structuredOutput: row.structured_output
      ? (JSON.parse(row.structured_output) as Record<string, unknown>)
      : null,
    error: row.error,
    errorCode: row.error_code,
    eventCount: row.event_count,
    eventsDropped: row.events_dropped,
  };
}
