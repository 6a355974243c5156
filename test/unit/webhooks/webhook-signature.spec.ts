import { Webhook } from 'standardwebhooks';
import { signedHeaders } from '../../../src/webhooks/webhook-signature';
import { newWebhookSecret } from '../../support/webhook-receiver';

describe('signedHeaders: the Standard Webhooks scheme', () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({
    type: 'run.ended',
    timestamp: '2026-01-01T00:00:00.000Z',
    data: {},
  });
  const id = 'msg_0123456789abcdef';

  it('signs as the reference implementation does, and its verify accepts the headers', () => {
    const now = new Date();
    const headers = signedHeaders(secret, id, body, now);
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(id, now, body));
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is refused for another body, another secret, or an old timestamp', () => {
    const headers = signedHeaders(secret, id, body, new Date());
    expect(() =>
      new Webhook(secret).verify(body.replace('run.ended', 'run.forged'), headers),
    ).toThrow('No matching signature found');
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(
      'No matching signature found',
    );
    const stale = signedHeaders(secret, id, body, new Date(Date.now() - 10 * 60 * 1000));
    expect(() => new Webhook(secret).verify(body, stale)).toThrow('Message timestamp too old');
  });
});
