/** The service answers. */
export class HealthDto {
  /** Always `ok`. */
  status!: 'ok';
}

/** Whether one Docker host of the pool answered. */
export class DockerHostHealthDto {
  /** Its name in DOCKER_HOSTS (`local` when the service has one engine). */
  name!: string;

  /** Whether it answered a ping; its environments are 503 DOCKER_UNAVAILABLE while not. */
  reachable!: boolean;
}

/** The service can reach what it depends on. */
export class ReadinessDto {
  /** Always `ok` (a 503 is sent otherwise). */
  status!: 'ok';

  /** A Docker engine answered a ping: the only one, or at least one host of the pool. */
  docker!: 'ok';

  /** Each host of the pool, in order: one that is down fails only its own environments. */
  hosts!: DockerHostHealthDto[];
}
