import { ApiProperty } from '@nestjs/swagger';
import { IsEnum, IsIn, IsOptional } from 'class-validator';
import { SERVICE_EVENT_TYPES } from '../../common/events/service-events';
import { PageQueryDto } from '../../common/http/page-query.dto';
import { WebhookDeliveryStatus } from '../webhook-delivery';

export class ListWebhookDeliveriesQueryDto extends PageQueryDto {
  @IsOptional()
  @ApiProperty({ enum: WebhookDeliveryStatus, enumName: 'WebhookDeliveryStatus', required: false })
  @IsEnum(WebhookDeliveryStatus)
  status?: WebhookDeliveryStatus;

  /** Only deliveries of this event type. */
  @IsOptional()
  @ApiProperty({ enum: SERVICE_EVENT_TYPES, enumName: 'WebhookEventType', required: false })
  @IsIn(SERVICE_EVENT_TYPES)
  eventType?: string;
}
