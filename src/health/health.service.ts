import { Injectable } from '@nestjs/common';
import { DockerService } from '../docker/docker.service';
import { ReadinessDto } from './dto/health.dto';

@Injectable()
export class HealthService {
  constructor(private readonly docker: DockerService) {}

  /** Throws DOCKER_UNAVAILABLE (503) when the engine does not answer. */
  async checkReadiness(): Promise<ReadinessDto> {
    await this.docker.ping();
    return { status: 'ok', docker: 'ok' };
  }
}
