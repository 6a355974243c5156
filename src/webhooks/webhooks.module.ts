import { Module } from '@nestjs/common';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookSender } from './webhook-sender';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Signed deliveries (Standard Webhooks) of the service's events to WEBHOOK_URL, from an outbox in
 * the store, and their log.
 */
@Module({
  controllers: [WebhooksController],
  providers: [WebhookDeliveriesRepository, WebhookDispatcher, WebhookSender, WebhooksService],
})
export class WebhooksModule {}
