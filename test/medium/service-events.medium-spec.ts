import { HttpStatus } from '@nestjs/common';
import { AskRequested, RunEnded, ServiceEvents } from '../../src/common/events/service-events';
import { waitUntil } from '../support/wait';
import { executionsApps } from './executions-app';

// The bus the outward-facing parts (webhooks, metrics) listen on: each fact told once, in full.
jest.setTimeout(30_000);

describe('service events: what the runs announce', () => {
  const boot = executionsApps();

  async function listening(settings: Record<string, string> = {}) {
    const app = await boot(settings);
    const ended: RunEnded[] = [];
    const asked: AskRequested[] = [];
    const events = app.app.get(ServiceEvents);
    events.on('run.ended', (event) => ended.push(event));
    events.on('ask.requested', (event) => asked.push(event));
    return { ...app, events, ended, asked };
  }

  it('tells each run end once, with its outcome and without its prompt', async () => {
    const { runner, submit, ended } = await listening();
    const id = await submit({ prompt: 'a secret plan', env: 'staging' });
    (await runner.runOf(id)).succeed('all done');
    await waitUntil(async () => Promise.resolve(ended.length > 0), 'the run end told');
    expect(ended).toEqual([
      expect.objectContaining({ id, env: 'staging', status: 'succeeded', result: 'all done' }),
    ]);
    expect(JSON.stringify(ended[0])).not.toContain('a secret plan');
  });

  it('tells the end of a run cancelled in the queue, which never reached the runner', async () => {
    const { runner, submit, request, ended } = await listening({ MAX_CONCURRENT_PER_ENV: '1' });
    const running = await submit({ prompt: 'first' });
    const queued = await submit({ prompt: 'second' });
    await runner.runOf(running);
    const cancel = await request('POST', `/api/executions/${queued}/cancel`);
    expect(cancel.statusCode).toBe(HttpStatus.OK);
    await waitUntil(async () => Promise.resolve(ended.length > 0), 'the run end told');
    expect(ended).toEqual([expect.objectContaining({ id: queued, status: 'cancelled' })]);
    expect(runner.runIds).toEqual([running]);
  });

  it('tells an approval asked, with its request id, and a listener that throws fails nothing', async () => {
    const { runner, submit, events, asked, ended } = await listening();
    events.on('ask.requested', () => {
      throw new Error('a broken listener');
    });
    const id = await submit({ prompt: 'clean up', approvals: true });
    const run = await runner.runOf(id);
    void run.askApproval('Bash', { command: 'ls' });
    await waitUntil(async () => Promise.resolve(asked.length > 0), 'the ask told');
    expect(asked).toEqual([
      {
        runId: id,
        kind: 'approval',
        request: expect.objectContaining({ requestId: expect.any(String), tool: 'Bash' }),
      },
    ]);
    run.succeed('done');
    await waitUntil(async () => Promise.resolve(ended.length > 0), 'the run end told');
    expect(ended[0]).toMatchObject({ id, status: 'succeeded' });
  });
});
