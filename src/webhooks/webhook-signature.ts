import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/**
 * The Standard Webhooks headers of one attempt: the delivery's stable id, the attempt's time, and
 * `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with the secret's decoded bytes. The
 * timestamp is the attempt's, so a retry is not refused as a replay by the receiver's tolerance.
 */
export function signedHeaders(
  secret: string,
  id: string,
  body: string,
  now: Date,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}
