import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';

/** What every metric of the service is named after. */
export const METRIC_PREFIX = 'claudecode_';

/** Durations from a millisecond request to a ten-minute run, in seconds. */
export const DURATION_BUCKETS = [
  0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

type Unregistered<T> = Omit<T, 'registers'>;

/**
 * The service's Prometheus registry, one per application (tests boot several in one process).
 * A feature registers its metrics here, where it owns the numbers: a counter it increments, or a
 * gauge whose `collect` reads its state at scrape time, so nothing is counted twice or goes stale.
 * The process's own metrics (CPU, memory, event-loop lag, handles) come with it.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  counter<L extends string>(config: Unregistered<CounterConfiguration<L>>): Counter<L> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Unregistered<GaugeConfiguration<L>>): Gauge<L> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Unregistered<HistogramConfiguration<L>>): Histogram<L> {
    return new Histogram({ ...config, registers: [this.registry] });
  }

  /** The exposition text Prometheus scrapes. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
