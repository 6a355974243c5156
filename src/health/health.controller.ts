import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/routes/public.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { CountedPerIp } from '../common/routes/counted-per-ip.decorator';
import { HealthDto, ReadinessDto } from './dto/health.dto';
import { HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: the process answers. Open and never rate limited. */
  @Get()
  getHealth(): HealthDto {
    return { status: 'ok' };
  }

  /**
   * Readiness: the Docker engine answers a ping. The answer is reused for a second, and each call
   * counts in the client IP's rate limit (THROTTLE_IP_LIMIT).
   */
  @Get('ready')
  @CountedPerIp()
  @ApiOkResponse({ type: ReadinessDto })
  @ApiErrors({ 429: [ErrorCode.RATE_LIMITED], 503: [ErrorCode.DOCKER_UNAVAILABLE] })
  getReadiness(): Promise<ReadinessDto> {
    return this.health.checkReadiness();
  }
}
