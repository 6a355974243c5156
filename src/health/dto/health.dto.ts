/** The service answers. */
export class HealthDto {
  /** Always `ok`. */
  status!: 'ok';
}

/** The service can reach what it depends on. */
export class ReadinessDto {
  /** Always `ok` (a 503 is sent otherwise). */
  status!: 'ok';

  /** The Docker engine answered a ping. */
  docker!: 'ok';
}
