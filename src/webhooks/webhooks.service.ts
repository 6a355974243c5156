import { Injectable } from '@nestjs/common';
import { pageNewestFirst } from '../common/http/cursor';
import { ListWebhookDeliveriesQueryDto } from './dto/list-webhook-deliveries-query.dto';
import { WebhookDeliveryDto, WebhookDeliveryListDto } from './dto/webhook-delivery.dto';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDelivery } from './webhook-delivery';

/** The delivery log as the API shows it. */
@Injectable()
export class WebhooksService {
  constructor(private readonly repository: WebhookDeliveriesRepository) {}

  listDeliveries(query: ListWebhookDeliveriesQueryDto): Promise<WebhookDeliveryListDto> {
    return pageNewestFirst(
      query,
      (before, limit) => this.repository.list({ ...query, before, limit }),
      toDeliveryDto,
    );
  }
}

/** A delivery without its payload, which the receiver has (and which holds run results). */
function toDeliveryDto(delivery: WebhookDelivery): WebhookDeliveryDto {
  const { id, eventType, status, attempts, createdAt, nextAttemptAt, lastAttemptAt } = delivery;
  const { lastResponseStatus, lastError, deliveredAt } = delivery;
  return {
    ...{ id, eventType, status, attempts, createdAt, nextAttemptAt, lastAttemptAt },
    ...{ lastResponseStatus, lastError, deliveredAt },
  };
}
