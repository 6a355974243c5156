import { randomUUID } from 'node:crypto';
import { executionsApps } from './executions-app';

// Beside the run lifecycle (executions.medium-spec.ts): prompts sent to a session that is busy,
// queued visibly behind its turn, or steering it.
jest.setTimeout(30_000);

interface Shown {
  id: string;
  status: string;
  queuePosition: number | null;
  queuedBehind: string | null;
}

describe('a busy session: queued behind its turn, or steered (fake runner)', () => {
  const boot = executionsApps();

  async function busySession(settings: Record<string, string> = {}) {
    const app = await boot(settings);
    const sessionId = randomUUID();
    const send = (prompt: string, whenSessionBusy?: 'queue' | 'steer' | 'reject') =>
      app.submit({ prompt, sessionId, whenSessionBusy });
    const shown = async (id: string) =>
      (await app.request('GET', `/api/executions/${id}`)).json<Shown>();
    const busy = await send('a long turn');
    const turn = await app.runner.runOf(busy);
    return { ...app, sessionId, send, shown, busy, turn };
  }

  it('shows what a queued prompt waits behind, in the run and in the history; cancel takes it out', async () => {
    const { send, shown, busy, turn, runner, request, ended } = await busySession();
    const second = await send('second');
    const third = await send('third');
    expect(await shown(busy)).toMatchObject({ queuePosition: null, queuedBehind: null });
    expect(await shown(second)).toMatchObject({
      status: 'queued',
      queuePosition: 1,
      queuedBehind: busy,
    });
    expect(await shown(third)).toMatchObject({ queuePosition: 2, queuedBehind: second });
    const history = (await request('GET', '/api/executions?status=queued')).json<{
      items: Shown[];
    }>();
    expect(history.items).toEqual([
      expect.objectContaining({ id: third, queuedBehind: second }),
      expect.objectContaining({ id: second, queuedBehind: busy }),
    ]);

    await request('POST', `/api/executions/${second}/cancel`);
    expect(await shown(third)).toMatchObject({ queuePosition: 1, queuedBehind: busy });
    turn.succeed('done');
    expect(await ended(busy)).toMatchObject({ status: 'succeeded' });
    expect((await runner.runAt(1)).request.runId).toBe(third);
    expect(await shown(third)).toMatchObject({ status: 'running', queuePosition: null });
  });

  it('a queued run that only waits for a slot of its environment waits behind nobody, steer or not', async () => {
    const { submit, shown } = await busySession({ MAX_CONCURRENT_PER_ENV: '1' });
    const other = await submit({ prompt: 'another session' });
    expect(await shown(other)).toMatchObject({ queuePosition: 1, queuedBehind: null });
    // Nothing of its session runs, so a steer has no slot to take: it waits its turn.
    const idle = await submit({ prompt: 'steer an idle session', whenSessionBusy: 'steer' });
    expect(await shown(idle)).toMatchObject({ queuePosition: 2, queuedBehind: null });
  });

  it('steer interrupts the running turn (cancelled, STEERED) and runs next, ahead of the queue', async () => {
    const { send, shown, busy, turn, runner, ended, sessionId } = await busySession();
    const queued = await send('queued before the steer');
    const steer = await send('steer now', 'steer');
    await turn.aborted;
    expect(await ended(busy)).toMatchObject({ status: 'cancelled', errorCode: 'STEERED' });
    const next = await runner.runAt(1);
    expect(next.request).toMatchObject({ runId: steer, sessionId, prompt: 'steer now' });
    expect(await shown(queued)).toMatchObject({ status: 'queued', queuedBehind: steer });
    next.succeed('steered');
    expect((await runner.runAt(2)).request.runId).toBe(queued);
  });

  it('POST /api/execute keeps 409 SESSION_BUSY by default, and steers when asked', async () => {
    const { request, sessionId, busy, turn, runner, ended } = await busySession();
    const body = { env: 'dev', prompt: 'now', sessionId };
    const refused = await request('POST', '/api/execute', body);
    expect(refused.json()).toMatchObject({ statusCode: 409, code: 'SESSION_BUSY' });

    const reply = request('POST', '/api/execute', { ...body, whenSessionBusy: 'steer' });
    await turn.aborted;
    expect(await ended(busy)).toMatchObject({ errorCode: 'STEERED' });
    (await runner.runAt(1)).succeed('steered');
    expect((await reply).json()).toMatchObject({ success: true, output: 'steered' });
  });
});
