import { messageText } from '../support/fake-anthropic';
import { readSse } from '../support/sse-client';
import { appWithFakeUpstreamSuite } from '../support/test-app';

describe('a busy session with the real CLI: a prompt queued behind its turn, or steering it', () => {
  const suite = appWithFakeUpstreamSuite({ THROTTLE_CLAUDE_LIMIT: '1000' });

  async function send(
    prompt: string,
    more: { sessionId?: string; whenSessionBusy?: 'steer' } = {},
  ) {
    const submitted = await suite.t.client.POST('/api/executions', {
      body: { env: 'dev', prompt, ...more },
    });
    if (!submitted.data) throw new Error(`submit failed: ${JSON.stringify(submitted.error)}`);
    return submitted.data;
  }

  /** The run once it has ended (its event stream read to the end). */
  async function finished(id: string) {
    const stream = await readSse(`${suite.t.baseUrl}/api/executions/${id}/events`, {
      headers: { authorization: `Bearer ${suite.t.token}` },
    });
    expect(stream.closedByServer).toBe(true);
    const run = await suite.t.client.GET('/api/executions/{id}', { params: { path: { id } } });
    return run.data;
  }

  /** All the text the model was given in its last call: the conversation so far. */
  const contextSeen = () =>
    (suite.fake.mainRequests.at(-1)?.body.messages ?? []).map(messageText).join('\n');

  it('queues a prompt sent while the session is busy, shows it waiting, and runs it after', async () => {
    const release = suite.fake.replyHeld('first answer');
    const first = await send('first prompt');
    await suite.fake.waitForMainRequests(1);
    const second = await send('second prompt', { sessionId: first.sessionId });
    expect(second).toMatchObject({ status: 'queued', queuedBehind: first.id, queuePosition: 1 });

    release();
    const firstDone = await finished(first.id);
    const secondDone = await finished(second.id);
    expect(firstDone).toMatchObject({ status: 'succeeded', result: 'first answer' });
    expect(secondDone).toMatchObject({ status: 'succeeded', result: 'echo: second prompt' });
    expect(Date.parse(secondDone?.startedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(firstDone?.finishedAt ?? ''),
    );
    expect(contextSeen()).toContain('first answer');
  });

  it('steer interrupts the busy turn and answers the new prompt with the context so far', async () => {
    suite.fake.enqueue({ kind: 'hang' });
    const busy = await send('a turn that takes forever');
    await suite.fake.waitForMainRequests(1);
    const steer = await send('steer now', {
      sessionId: busy.sessionId,
      whenSessionBusy: 'steer',
    });

    expect(await finished(steer.id)).toMatchObject({
      status: 'succeeded',
      result: 'echo: steer now',
    });
    expect(await finished(busy.id)).toMatchObject({ status: 'cancelled', errorCode: 'STEERED' });
    expect(contextSeen()).toContain('a turn that takes forever');
  });
});
