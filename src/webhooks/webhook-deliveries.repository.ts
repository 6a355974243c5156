import { Injectable } from '@nestjs/common';
import { SqlStore } from '../store/sql-store';
import { AttemptResult, WebhookDelivery, WebhookDeliveryStatus } from './webhook-delivery';

interface DeliveryRow {
  id: string;
  event_type: string;
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  created_at: string;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_response_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

export interface DeliveryFilter {
  status?: WebhookDeliveryStatus;
  eventType?: string;
  /** Page after this (createdAt, id), newest first. */
  before?: { createdAt: string; id: string };
  limit: number;
}

/** The longest `last_error` kept: a reason, never a response body. */
const MAX_ERROR_LENGTH = 500;

/**
 * The webhooks' outbox and delivery log (`webhook_deliveries`). Timestamps are ISO strings, so
 * they compare as text.
 */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly store: SqlStore) {}

  /** A new delivery, due at once. */
  async enqueue(delivery: {
    id: string;
    eventType: string;
    payload: string;
    createdAt: string;
  }): Promise<void> {
    await this.store.run(
      `INSERT INTO webhook_deliveries (id, event_type, payload, status, created_at, next_attempt_at)
       VALUES (?, ?, ?, 'pending', ?, ?)`,
      [delivery.id, delivery.eventType, delivery.payload, delivery.createdAt, delivery.createdAt],
    );
  }

  /**
   * Takes the delivery that has been due longest, if any, and marks it `delivering`. The outer
   * `status = 'pending'` is checked again on the row itself, so two claims at once never both
   * take it (on an engine that runs them side by side).
   */
  async claimDue(now: string): Promise<WebhookDelivery | null> {
    const row = await this.store.get<DeliveryRow>(
      `UPDATE webhook_deliveries SET status = 'delivering'
       WHERE status = 'pending'
         AND id = (SELECT id FROM webhook_deliveries
                   WHERE status = 'pending' AND next_attempt_at <= ?
                   ORDER BY next_attempt_at, created_at, id LIMIT 1)
       RETURNING *`,
      [now],
    );
    return row ? toDelivery(row) : null;
  }

  /** When the next pending delivery is due, or null when none waits. */
  async nextDueAt(): Promise<string | null> {
    const row = await this.store.get<{ due: string | null }>(
      `SELECT MIN(next_attempt_at) AS due FROM webhook_deliveries WHERE status = 'pending'`,
    );
    return row?.due ?? null;
  }

  /**
   * Records an attempt: `delivered` on a 2xx; otherwise `pending` again until `nextAttemptAt`, or
   * `failed` when that is null (no attempt left).
   */
  async recordAttempt(
    id: string,
    result: AttemptResult,
    attemptedAt: string,
    nextAttemptAt: string | null,
  ): Promise<void> {
    const status = result.ok ? 'delivered' : nextAttemptAt ? 'pending' : 'failed';
    await this.store.run(
      `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_at = ?,
         last_response_status = ?, last_error = ?, next_attempt_at = ?, delivered_at = ?
       WHERE id = ?`,
      [
        status,
        attemptedAt,
        result.responseStatus,
        result.ok ? null : result.error.slice(0, MAX_ERROR_LENGTH),
        result.ok ? null : nextAttemptAt,
        result.ok ? attemptedAt : null,
        id,
      ],
    );
  }

  /**
   * Puts `delivering` deliveries back to `pending`, as they were before the attempt: one cut short
   * by a shutdown (`id`), or all that a crash left (no `id`). Answers how many.
   */
  async release(id?: string): Promise<number> {
    const { changes } =
      id === undefined
        ? await this.store.run(
            `UPDATE webhook_deliveries SET status = 'pending' WHERE status = 'delivering'`,
          )
        : await this.store.run(
            `UPDATE webhook_deliveries SET status = 'pending' WHERE id = ? AND status = 'delivering'`,
            [id],
          );
    return changes;
  }

  async get(id: string): Promise<WebhookDelivery | null> {
    const row = await this.store.get<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = ?', [
      id,
    ]);
    return row ? toDelivery(row) : null;
  }

  async list(filter: DeliveryFilter): Promise<WebhookDelivery[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.eventType !== undefined) {
      where.push('event_type = ?');
      params.push(filter.eventType);
    }
    if (filter.before) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      params.push(filter.before.createdAt, filter.before.createdAt, filter.before.id);
    }
    const sql = `SELECT * FROM webhook_deliveries
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = await this.store.all<DeliveryRow>(sql, [...params, filter.limit]);
    return rows.map(toDelivery);
  }

  /** Deletes the finished (delivered or failed) deliveries created before `cutoff`. */
  async pruneBefore(cutoff: string): Promise<number> {
    const { changes } = await this.store.run(
      `DELETE FROM webhook_deliveries
       WHERE created_at < ? AND status IN ('delivered', 'failed')`,
      [cutoff],
    );
    return changes;
  }
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastResponseStatus: row.last_response_status,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
  };
}
