import { ApiProperty } from '@nestjs/swagger';
import { SERVICE_EVENT_TYPES } from '../../common/events/service-events';
import { WebhookDeliveryStatus } from '../webhook-delivery';

/** One event posted (or to be posted) to WEBHOOK_URL, with how its attempts went. */
export class WebhookDeliveryDto {
  /** `msg_…`: the `webhook-id` header of every attempt, the receiver's dedupe key. */
  id!: string;

  /** The event's type, the payload's `type`. */
  @ApiProperty({ enum: SERVICE_EVENT_TYPES, enumName: 'WebhookEventType' })
  eventType!: string;

  /**
   * `pending`: waits for its next attempt (`nextAttemptAt`); `delivering`: an attempt is in
   * flight; `delivered`: answered 2xx; `failed`: WEBHOOK_MAX_ATTEMPTS attempts failed.
   */
  @ApiProperty({ enum: WebhookDeliveryStatus, enumName: 'WebhookDeliveryStatus' })
  status!: WebhookDeliveryStatus;

  /** Attempts made so far. */
  @ApiProperty({ type: 'integer' })
  attempts!: number;

  /** When the event happened (the payload's `timestamp`). */
  createdAt!: string;

  /** When the next attempt is due; null once delivered or failed. */
  nextAttemptAt!: string | null;

  lastAttemptAt!: string | null;

  /** The HTTP status of the last answer; null before the first, or when none came. */
  @ApiProperty({ type: 'integer', nullable: true })
  lastResponseStatus!: number | null;

  /** Why the last attempt failed (`HTTP 500`, a network error, a timeout); null on success. */
  lastError!: string | null;

  deliveredAt!: string | null;
}

export class WebhookDeliveryListDto {
  items!: WebhookDeliveryDto[];

  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor!: string | null;
}
