import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { WebhookConfig } from '../common/config/webhook-config';
import { signedHeaders } from './webhook-signature';
import { AttemptResult, WebhookDelivery } from './webhook-delivery';

/**
 * Posts one attempt of a delivery to WEBHOOK_URL, signed: a 2xx answer is a success; any other
 * answer (a redirect included: none is followed), a network error or WEBHOOK_TIMEOUT_MS passing
 * is a failure. `signal` cuts the attempt short (a shutdown); the caller tells that apart.
 */
@Injectable()
export class WebhookSender {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(delivery: WebhookDelivery, signal: AbortSignal): Promise<AttemptResult> {
    const webhooks = this.settings();
    try {
      const response = await fetch(webhooks.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'claudecode-api-webhooks',
          ...signedHeaders(webhooks.secret, delivery.id, delivery.payload, new Date()),
        },
        body: delivery.payload,
        signal: AbortSignal.any([signal, AbortSignal.timeout(webhooks.timeoutMs)]),
      });
      // The answer's body is not read: nothing in it counts, and it may be large.
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) {
        return { ok: true, responseStatus: response.status };
      }
      return { ok: false, responseStatus: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, responseStatus: null, error: describeFailure(error, webhooks.timeoutMs) };
    }
  }

  private settings(): WebhookConfig {
    if (!this.config.webhooks) throw new Error('webhooks are off (WEBHOOK_URL is unset)');
    return this.config.webhooks;
  }
}

/**
 * Why a request got no answer, without the URL (which may carry a token). Read by shape: fetch's
 * errors may come from another realm than this module's `Error`.
 */
function describeFailure(error: unknown, timeoutMs: number): string {
  const { name, message, cause } = (error ?? {}) as {
    name?: unknown;
    message?: unknown;
    cause?: { message?: unknown; code?: unknown };
  };
  if (name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (name === 'AbortError') return 'cut short by a shutdown';
  if (typeof cause?.message === 'string' && cause.message) return cause.message;
  if (typeof cause?.code === 'string') return cause.code;
  return typeof message === 'string' ? message : String(error);
}
