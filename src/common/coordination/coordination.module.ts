import {
  DynamicModule,
  Global,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { CoordinationConfig } from '../config/coordination-config';
import { RedisConnections } from './redis-connections';
import { RedisReplicaBus } from './redis-replica-bus';
import { InProcessReplicaBus, ReplicaBus } from './replica-bus';
import { DEFAULT_LIVENESS_TIMINGS, LivenessTimings, ReplicaLiveness } from './replica-liveness';
import { ReplicaLocks } from './replica-locks';
import { ReplicaRequests } from './replica-requests';

/**
 * This replica's link to the others: Redis when REDIS_URL is set (connected at boot, which stops
 * if Redis does not answer), or nothing, and everything stays in this process.
 */
export class Coordination implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Coordination.name);

  private constructor(
    readonly config: CoordinationConfig,
    /** null without REDIS_URL. */
    readonly redis: RedisConnections | null,
  ) {}

  static async connect(config: CoordinationConfig): Promise<Coordination> {
    const redis = config.redis ? await RedisConnections.open(config.redis, config.replicaId) : null;
    return new Coordination(config, redis);
  }

  get replicaId(): string {
    return this.config.replicaId;
  }

  onApplicationBootstrap(): void {
    const through = this.config.redis
      ? `Redis at ${this.config.redis.safeUrl}`
      : 'this process only (no REDIS_URL)';
    this.logger.log(`Replica ${this.replicaId} coordinates through ${through}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}

function replicaBus(coordination: Coordination): ReplicaBus {
  const { redis, config } = coordination;
  return redis && config.redis
    ? new RedisReplicaBus(redis, config.replicaId, config.redis.keyPrefix)
    : new InProcessReplicaBus(config.replicaId);
}

function replicaLiveness(coordination: Coordination, timings: LivenessTimings): ReplicaLiveness {
  const { redis, config } = coordination;
  const keyPrefix = config.redis?.keyPrefix ?? '';
  return new ReplicaLiveness(redis?.commands ?? null, keyPrefix, config.replicaId, timings);
}

function replicaLocks(coordination: Coordination): ReplicaLocks {
  const { redis, config } = coordination;
  return new ReplicaLocks(redis?.commands ?? null, config.redis?.keyPrefix ?? '');
}

/**
 * Provides `Coordination` (the Redis connections), the `ReplicaBus`, this replica's liveness,
 * the locks across replicas and the `ReplicaRequests` over the bus to every module.
 */
@Global()
@Module({})
export class CoordinationModule {
  static forRoot(config: CoordinationConfig): DynamicModule {
    return {
      module: CoordinationModule,
      providers: [
        { provide: Coordination, useFactory: () => Coordination.connect(config) },
        { provide: ReplicaBus, useFactory: replicaBus, inject: [Coordination] },
        { provide: LivenessTimings, useValue: DEFAULT_LIVENESS_TIMINGS },
        {
          provide: ReplicaLiveness,
          useFactory: replicaLiveness,
          inject: [Coordination, LivenessTimings],
        },
        { provide: ReplicaLocks, useFactory: replicaLocks, inject: [Coordination] },
        {
          provide: ReplicaRequests,
          useFactory: (bus: ReplicaBus, coordination: Coordination) =>
            new ReplicaRequests(bus, coordination.config.redis?.timeoutMs ?? 0),
          inject: [ReplicaBus, Coordination],
        },
      ],
      exports: [
        Coordination,
        ReplicaBus,
        LivenessTimings,
        ReplicaLiveness,
        ReplicaLocks,
        ReplicaRequests,
      ],
    };
  }
}
