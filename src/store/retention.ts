import { Logger } from '@nestjs/common';

/** How often the history and the webhooks' log drop what is past HISTORY_RETENTION_DAYS. */
export const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Runs `prune` now (a failure fails the boot, as a broken store should), then every
 * PRUNE_INTERVAL_MS on a timer that never holds the process open, where a failure is logged and
 * the next hour tries again. The answer stops it.
 */
export async function pruneHourly(prune: () => Promise<void>, logger: Logger): Promise<() => void> {
  await prune();
  const timer = setInterval(() => {
    prune().catch((error: unknown) => logger.error(`Pruning failed: ${String(error)}`));
  }, PRUNE_INTERVAL_MS).unref();
  return () => clearInterval(timer);
}

/** The ISO time before which kept records are past a retention of `retentionDays`. */
export function retentionCutoff(retentionDays: number, now = Date.now()): string {
  return new Date(now - retentionDays * DAY_MS).toISOString();
}
