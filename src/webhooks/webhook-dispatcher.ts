import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { WebhookConfig } from '../common/config/webhook-config';
import {
  SERVICE_EVENT_TYPES,
  ServiceEventMap,
  ServiceEvents,
  ServiceEventType,
} from '../common/events/service-events';
import { pruneHourly, retentionCutoff } from '../store/retention';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { retryDelayMs, WebhookDelivery } from './webhook-delivery';
import { WebhookSender } from './webhook-sender';

/** A retry timer never sleeps longer than this (setTimeout's bound is ~24.8 days). */
const MAX_SLEEP_MS = 60 * 60 * 1000;

/**
 * The webhooks' outbox worker. Each event of a WEBHOOK_EVENTS type on the bus is written to the
 * outbox at once (a run never waits on a delivery), then posted by one attempt at a time, oldest
 * due first, and retried on the WEBHOOK_RETRY_DELAYS schedule until WEBHOOK_MAX_ATTEMPTS. At boot,
 * deliveries a crash left `delivering` are pending again; at shutdown (after the runs have
 * drained and told their ends) the outbox writes in flight finish, and an attempt in flight is cut
 * short and left pending, for the next boot. Deliveries past HISTORY_RETENTION_DAYS are pruned.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly unsubscribes: (() => void)[] = [];
  private stopPruning: () => void = () => undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Outbox writes not yet done: the store stays open for them at shutdown. */
  private readonly writes = new Set<Promise<void>>();
  /** The worker, while it delivers; at most one. */
  private worker: Promise<void> | undefined;
  /** Something may have become due since the worker last looked. */
  private lookAgain = false;
  /** Aborts the attempt in flight. */
  private inFlight: AbortController | undefined;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: WebhookDeliveriesRepository,
    private readonly sender: WebhookSender,
    private readonly serviceEvents: ServiceEvents,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopPruning = await pruneHourly(() => this.prune(), this.logger);
    const webhooks = this.config.webhooks;
    if (!webhooks) return;
    // The origin only: a path or query may carry a token.
    this.logger.log(`Delivering ${webhooks.events.join(', ')} to ${new URL(webhooks.url).origin}`);
    const released = await this.repository.release();
    if (released > 0) this.logger.warn(`Retrying ${released} delivery(ies) a crash cut short`);
    for (const type of SERVICE_EVENT_TYPES.filter((t) => webhooks.events.includes(t))) {
      this.unsubscribes.push(this.serviceEvents.on(type, (event) => this.enqueue(type, event)));
    }
    this.deliverDue();
  }

  // After the drain (beforeApplicationShutdown), so the ends it tells are in the outbox; before
  // the store closes (a global module's hooks run last).
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribes.forEach((unsubscribe) => unsubscribe());
    this.stopPruning();
    clearTimeout(this.retryTimer);
    this.inFlight?.abort();
    await Promise.all([...this.writes, this.worker]);
  }

  /** Writes the event to the outbox, as the Standard Webhooks payload, and wakes the worker. */
  private enqueue<T extends ServiceEventType>(type: T, data: ServiceEventMap[T]): void {
    const createdAt = new Date().toISOString();
    const payload = JSON.stringify({ type, timestamp: createdAt, data });
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const write = this.repository
      .enqueue({ id, eventType: type, payload, createdAt })
      .then(
        () => this.deliverDue(),
        (error: unknown) => {
          this.logger.error(`Webhook ${type} ${id} could not be written: ${String(error)}`);
        },
      )
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** Wakes the worker; one at work already looks again before it sleeps. */
  private deliverDue(): void {
    if (this.stopped) return;
    this.lookAgain = true;
    this.worker ??= this.deliverWhileDue()
      .catch((error: unknown) => {
        this.lookAgain = false;
        this.logger.error(`Webhook deliveries paused until the next event: ${String(error)}`);
      })
      .finally(() => {
        this.worker = undefined;
        // Woken between its last look and now.
        if (this.lookAgain) this.deliverDue();
      });
  }

  /**
   * Sends the delivery due longest, then looks again; with none due, sleeps until the next one
   * is. An enqueue meanwhile makes it look once more before it sleeps.
   */
  private async deliverWhileDue(): Promise<void> {
    while (!this.stopped && this.lookAgain) {
      this.lookAgain = false;
      clearTimeout(this.retryTimer);
      const delivery = await this.repository.claimDue(new Date().toISOString());
      if (delivery) {
        this.lookAgain = true;
        await this.attemptAbortably(delivery);
      } else if (!this.lookAgain) {
        await this.sleepUntilNextDue();
      }
    }
  }

  private async attemptAbortably(delivery: WebhookDelivery): Promise<void> {
    const controller = new AbortController();
    this.inFlight = controller;
    try {
      await this.attempt(delivery, controller.signal);
    } catch (error) {
      this.logger.error(`Webhook delivery ${delivery.id} could not be recorded: ${String(error)}`);
    } finally {
      this.inFlight = undefined;
    }
  }

  private async attempt(delivery: WebhookDelivery, signal: AbortSignal): Promise<void> {
    const webhooks = this.config.webhooks as WebhookConfig;
    const result = await this.sender.send(delivery, signal);
    if (signal.aborted) {
      await this.repository.release(delivery.id);
      return;
    }
    const attempts = delivery.attempts + 1;
    const now = Date.now();
    const delay = result.ok ? null : retryDelayMs(attempts, webhooks);
    const nextAttemptAt = delay === null ? null : new Date(now + delay).toISOString();
    await this.repository.recordAttempt(
      delivery.id,
      result,
      new Date(now).toISOString(),
      nextAttemptAt,
    );
    if (!result.ok) {
      const then = nextAttemptAt ? `retry at ${nextAttemptAt}` : 'no attempt left: failed';
      this.logger.warn(
        `Webhook ${delivery.eventType} ${delivery.id}, attempt ${attempts}: ${result.error}; ${then}`,
      );
    }
  }

  private async sleepUntilNextDue(): Promise<void> {
    const due = await this.repository.nextDueAt();
    if (due === null || this.stopped || this.lookAgain) return;
    const wait = Math.min(Math.max(Date.parse(due) - Date.now(), 0), MAX_SLEEP_MS);
    this.retryTimer = setTimeout(() => this.deliverDue(), wait).unref();
  }

  private async prune(): Promise<void> {
    const { retentionDays } = this.config.history;
    const cutoff = retentionCutoff(retentionDays);
    const pruned = await this.repository.pruneBefore(cutoff);
    if (pruned > 0) {
      this.logger.log(`Pruned ${pruned} webhook delivery(ies) older than ${retentionDays} days`);
    }
  }
}
