/** Where a delivery is: waiting for its (next) attempt, being sent, or done either way. */
export const WebhookDeliveryStatus = {
  pending: 'pending',
  delivering: 'delivering',
  delivered: 'delivered',
  failed: 'failed',
} as const;
export type WebhookDeliveryStatus =
  (typeof WebhookDeliveryStatus)[keyof typeof WebhookDeliveryStatus];

/** One event to post, with how its attempts went so far. */
export interface WebhookDelivery {
  /** `msg_…`: the `webhook-id` of every attempt, the receivers' dedupe key. */
  id: string;
  eventType: string;
  /** The body of every attempt: `{ type, timestamp, data }` as JSON, fixed when enqueued. */
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

/** How one attempt went: a 2xx answer, or why not. */
export type AttemptResult =
  | { ok: true; responseStatus: number }
  | { ok: false; responseStatus: number | null; error: string };

/**
 * The wait before the attempt after `attempts` failed ones, or null when none is left: the
 * n-th delay of the schedule after the n-th failure, its last delay beyond its end.
 */
export function retryDelayMs(
  attempts: number,
  schedule: { maxAttempts: number; retryDelaysMs: readonly number[] },
): number | null {
  if (attempts >= schedule.maxAttempts) return null;
  const delays = schedule.retryDelaysMs;
  return delays[Math.min(attempts, delays.length) - 1];
}
