import { Injectable } from '@nestjs/common';
import { DockerService } from '../docker/docker.service';
import { ReadinessDto } from './dto/health.dto';

/** How long one readiness answer (ok or not) is given again without asking Docker. */
const READINESS_CACHE_MS = 1000;

@Injectable()
export class HealthService {
  /** The last ping: shared while in flight, and answered again until READINESS_CACHE_MS after. */
  private lastPing?: { answer: Promise<ReadinessDto>; settledAt?: number };

  constructor(private readonly docker: DockerService) {}

  /**
   * Throws DOCKER_UNAVAILABLE (503) when the engine does not answer. Readiness is open, so any
   * number of probes share at most one ping per second: they cannot turn into Docker load.
   */
  checkReadiness(now = Date.now()): Promise<ReadinessDto> {
    const last = this.lastPing;
    if (last && (last.settledAt === undefined || now - last.settledAt < READINESS_CACHE_MS)) {
      return last.answer;
    }
    const ping: { answer: Promise<ReadinessDto>; settledAt?: number } = {
      answer: this.docker.ping().then((): ReadinessDto => ({ status: 'ok', docker: 'ok' })),
    };
    const settled = () => {
      ping.settledAt = Date.now();
    };
    ping.answer.then(settled, settled);
    this.lastPing = ping;
    return ping.answer;
  }
}
