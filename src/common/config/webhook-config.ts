import { ServiceEventType } from '../events/service-events';

/** Where and how the service's events are posted (`WEBHOOK_*`); null when WEBHOOK_URL is unset. */
export interface WebhookConfig {
  readonly url: string;
  /** `whsec_…`: the HMAC key of the signatures. Never logged, never stored with a delivery. */
  readonly secret: string;
  /** The event types that are delivered. */
  readonly events: readonly ServiceEventType[];
  /** Attempts of one delivery, the first included, before it is marked failed. */
  readonly maxAttempts: number;
  /** Each attempt's deadline, response included. */
  readonly timeoutMs: number;
  /** The wait after the n-th failed attempt is the n-th entry; the last repeats. */
  readonly retryDelaysMs: readonly number[];
}

/** The webhook settings as validated by `EnvironmentVariables`. */
export interface WebhookVariables {
  WEBHOOK_URL?: string;
  WEBHOOK_SECRET?: string;
  WEBHOOK_EVENTS: string[];
  WEBHOOK_MAX_ATTEMPTS: number;
  WEBHOOK_TIMEOUT_MS: number;
  WEBHOOK_RETRY_DELAYS: string[];
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `5s` → 5000; the syntax was checked by `EnvironmentVariables`. */
export function durationMs(text: string): number {
  const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(text) ?? [];
  return Number(amount) * DURATION_UNITS_MS[unit];
}

export function webhookConfig(
  variables: WebhookVariables,
  problems: string[],
): WebhookConfig | null {
  if (!variables.WEBHOOK_URL) return null;
  if (!variables.WEBHOOK_SECRET) {
    problems.push('WEBHOOK_SECRET is required when WEBHOOK_URL is set');
    return null;
  }
  return {
    url: variables.WEBHOOK_URL,
    secret: variables.WEBHOOK_SECRET,
    events: variables.WEBHOOK_EVENTS as ServiceEventType[],
    maxAttempts: variables.WEBHOOK_MAX_ATTEMPTS,
    timeoutMs: variables.WEBHOOK_TIMEOUT_MS,
    retryDelaysMs: variables.WEBHOOK_RETRY_DELAYS.map(durationMs),
  };
}
