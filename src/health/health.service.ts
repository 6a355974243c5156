import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { DockerService } from '../docker/docker.service';
import { ReadinessDto } from './dto/health.dto';

/** How long one readiness answer (ok or not) is given again without asking Docker. */
const READINESS_CACHE_MS = 1000;

@Injectable()
export class HealthService {
  /** The last ping: shared while in flight, and answered again until READINESS_CACHE_MS after. */
  private lastPing?: { answer: Promise<ReadinessDto>; settledAt?: number };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
  ) {}

  /**
   * Throws DOCKER_UNAVAILABLE (503) when no engine answers; a host of the pool that is down
   * shows as unreachable, and fails only its own environments. Readiness is open, so any
   * number of probes share at most one ping round per second: they cannot turn into Docker load.
   */
  checkReadiness(now = Date.now()): Promise<ReadinessDto> {
    const last = this.lastPing;
    if (last && (last.settledAt === undefined || now - last.settledAt < READINESS_CACHE_MS)) {
      return last.answer;
    }
    const ping: { answer: Promise<ReadinessDto>; settledAt?: number } = {
      answer: this.pingHosts(),
    };
    const settled = () => {
      ping.settledAt = Date.now();
    };
    ping.answer.then(settled, settled);
    this.lastPing = ping;
    return ping.answer;
  }

  private async pingHosts(): Promise<ReadinessDto> {
    const names = this.config.docker.hosts.map((host) => host.name);
    const pings = await Promise.allSettled(names.map((name) => this.docker.ping(name)));
    if (pings.every((ping) => ping.status === 'rejected')) throw pings[0].reason;
    return {
      status: 'ok',
      docker: 'ok',
      hosts: names.map((name, index) => ({ name, reachable: pings[index].status === 'fulfilled' })),
    };
  }
}
