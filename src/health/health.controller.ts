import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth/public.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
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

  /** Readiness: the Docker engine answers a ping. */
  @Get('ready')
  @ApiOkResponse({ type: ReadinessDto })
  @ApiErrors({ 503: [ErrorCode.DOCKER_UNAVAILABLE] })
  getReadiness(): Promise<ReadinessDto> {
    return this.health.checkReadiness();
  }
}
