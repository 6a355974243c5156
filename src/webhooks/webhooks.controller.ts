import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { ListWebhookDeliveriesQueryDto } from './dto/list-webhook-deliveries-query.dto';
import { WebhookDeliveryListDto } from './dto/webhook-delivery.dto';
import { WebhooksService } from './webhooks.service';
import {
  RequiresScope,
  ScopeEnvironment,
  TokenAction,
} from '../common/routes/required-scope.decorator';

@ApiTags('webhooks')
@ApiAuthenticated()
@ApiErrors({ 400: [ErrorCode.VALIDATION_FAILED] })
@Controller('api/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /**
   * The webhook delivery log, newest first: each event posted to WEBHOOK_URL (or waiting to be),
   * its status, attempts, last answer and next attempt. Kept HISTORY_RETENTION_DAYS.
   */
  @Get('deliveries')
  @RequiresScope(TokenAction.admin, ScopeEnvironment.all)
  @ApiOkResponse({ type: WebhookDeliveryListDto })
  listWebhookDeliveries(
    @Query() query: ListWebhookDeliveriesQueryDto,
  ): Promise<WebhookDeliveryListDto> {
    return this.webhooks.listDeliveries(query);
  }
}
