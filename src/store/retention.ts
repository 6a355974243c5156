/** How often the history and the webhooks' log drop what is past HISTORY_RETENTION_DAYS. */
export const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Runs `prune` now and then every PRUNE_INTERVAL_MS, on a timer that never holds the process open.
 * The answer stops it.
 */
export function pruneHourly(prune: () => void): () => void {
  prune();
  const timer = setInterval(prune, PRUNE_INTERVAL_MS).unref();
  return () => clearInterval(timer);
}

/** The ISO time before which kept records are past a retention of `retentionDays`. */
export function retentionCutoff(retentionDays: number, now = Date.now()): string {
  return new Date(now - retentionDays * DAY_MS).toISOString();
}
