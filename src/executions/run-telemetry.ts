import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { RunEnded, ServiceEvents } from '../common/events/service-events';
import { DURATION_BUCKETS, METRIC_PREFIX, Metrics } from '../common/metrics/metrics';
import { RunQueue } from './run-queue';

/** The token counts of the CLI's `usage`, by the `kind` label they are counted under. */
const TOKEN_KINDS = {
  input_tokens: 'input',
  output_tokens: 'output',
  cache_creation_input_tokens: 'cache_creation',
  cache_read_input_tokens: 'cache_read',
} as const;

/**
 * What operators see of the runs: each start and end counted (Prometheus) and each end logged
 * (from the service's `run.ended`), and the queues' depth read at scrape time. The output goes into
 * the log only with LOG_CONTENT=true; the prompt never travels on the events.
 */
@Injectable()
export class RunTelemetry {
  private readonly logger = new Logger('Runs');
  private readonly runs;
  private readonly duration;
  private readonly wait;
  private readonly cost;
  private readonly tokens;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    events: ServiceEvents,
    queue: RunQueue,
    metrics: Metrics,
  ) {
    this.runs = metrics.counter({
      name: `${METRIC_PREFIX}runs_total`,
      help: 'Runs ended, by environment and final status (succeeded, failed, cancelled, timed_out, interrupted)',
      labelNames: ['env', 'status'] as const,
    });
    this.duration = metrics.histogram({
      name: `${METRIC_PREFIX}run_duration_seconds`,
      help: 'How long runs ran, from their start to their end (the wait in the queue apart)',
      labelNames: ['env', 'status'] as const,
      buckets: DURATION_BUCKETS,
    });
    this.wait = metrics.histogram({
      name: `${METRIC_PREFIX}run_queue_wait_seconds`,
      help: 'How long runs waited in their environment queue before they started',
      labelNames: ['env'] as const,
      buckets: DURATION_BUCKETS,
    });
    this.cost = metrics.counter({
      name: `${METRIC_PREFIX}run_cost_usd_total`,
      help: "What the runs cost, as the CLI's results report it (USD)",
      labelNames: ['env'] as const,
    });
    this.tokens = metrics.counter({
      name: `${METRIC_PREFIX}run_tokens_total`,
      help: "Tokens the runs used, as the CLI's results report them, by kind",
      labelNames: ['env', 'kind'] as const,
    });
    const environments = config.environments;
    metrics.gauge({
      name: `${METRIC_PREFIX}queue_depth`,
      help: 'Runs waiting for a slot now, by environment: those this replica took (summed over the replicas, MAX_QUEUE_PER_ENV bounds each)',
      labelNames: ['env'] as const,
      collect() {
        const waiting = new Map(environments.map((env) => [env, 0]));
        for (const run of queue.waiting()) waiting.set(run.env, (waiting.get(run.env) ?? 0) + 1);
        for (const [env, depth] of waiting) this.set({ env }, depth);
      },
    });
    events.on('run.ended', (run) => this.ended(run));
  }

  /**
   * A run left the queue (told by the recorder: a start is no event of the bus, whose every type
   * webhooks deliver).
   */
  started(env: string, createdAt: string, startedAt: string): void {
    this.wait.observe({ env }, secondsBetween(createdAt, startedAt));
  }

  private ended(run: RunEnded): void {
    const { env, status } = run;
    this.runs.inc({ env, status });
    const durationMs =
      run.startedAt && run.finishedAt ? msBetween(run.startedAt, run.finishedAt) : null;
    if (durationMs !== null) this.duration.observe({ env, status }, durationMs / 1000);
    // The run's own spend: `costUsd` is its session's running total on a kept CLI.
    if (run.spentUsd !== null) this.cost.inc({ env }, run.spentUsd);
    const tokens = tokensOf(run.usage);
    for (const [kind, count] of Object.entries(tokens)) this.tokens.inc({ env, kind }, count);
    const line = {
      runId: run.id,
      env,
      sessionId: run.sessionId,
      status,
      errorCode: run.errorCode ?? undefined,
      durationMs: durationMs ?? undefined,
      spentUsd: run.spentUsd ?? undefined,
      tokens,
      ...(this.config.log.content ? { output: run.result, error: run.error } : {}),
    };
    this.logger.log(line, 'run ended');
  }
}

/** The usage's token counts, by kind; what is missing or not a count is left out. */
function tokensOf(usage: Record<string, unknown> | null): Record<string, number> {
  const tokens: Record<string, number> = {};
  for (const [field, kind] of Object.entries(TOKEN_KINDS)) {
    const count = usage?.[field];
    if (typeof count === 'number' && Number.isFinite(count) && count >= 0) tokens[kind] = count;
  }
  return tokens;
}

function msBetween(from: string, to: string): number {
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

function secondsBetween(from: string, to: string): number {
  return msBetween(from, to) / 1000;
}
