import { assistantMessage } from '../support/fake-run-executor';
import { readSse } from '../support/sse-client';
import { executionsApps, TOKEN } from './executions-app';

// Beside the e2e of scoped tokens (tokens.e2e-spec.ts): what needs a run held in place, waiting on
// an approval or streaming, which the fake runner gives in milliseconds.
jest.setTimeout(30_000);

describe('scoped tokens on the runs: the real wiring and store around a fake runner', () => {
  const boot = executionsApps();

  async function appWithDevToken(settings: Record<string, string> = {}) {
    const app = await boot(settings);
    const minted = await app.request('POST', '/api/tokens', {
      name: 'dev app',
      environments: ['dev'],
      actions: ['read', 'run'],
    });
    const { token } = minted.json<{ token: string }>();
    const asScoped = (method: 'GET' | 'POST', url: string, payload?: object) =>
      app.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload });
    return { ...app, token, asScoped };
  }

  it("answers a scoped token 404 for an approval of another environment's run, which stays pending", async () => {
    const { submit, runner, request, asScoped } = await appWithDevToken();
    const id = await submit({ env: 'staging', prompt: 'clean up', approvals: true });
    const run = await runner.runOf(id);
    void run.askApproval('Bash', { command: 'rm -rf build/' });
    const pending = (await request('GET', `/api/executions/${id}`)).json<{
      pendingApprovals: { requestId: string }[];
    }>().pendingApprovals;
    expect(pending).toHaveLength(1);
    const route = `/api/executions/${id}/approvals/${pending[0].requestId}`;

    const refused = await asScoped('POST', route, { decision: 'allow' });
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    const still = (await request('GET', `/api/executions/${id}`)).json<{
      pendingApprovals: unknown[];
    }>();
    expect(still.pendingApprovals).toHaveLength(1);
    run.succeed('done');
  });

  it('holds a scoped token to SSE_MAX_STREAMS_PER_TOKEN streams of its own, apart from the master token', async () => {
    const { submit, runner, listen, token, asScoped } = await appWithDevToken({
      SSE_MAX_STREAMS_PER_TOKEN: '1',
    });
    const id = await submit({ prompt: 'streamed' });
    const run = await runner.runOf(id);
    run.emit(assistantMessage('first'));
    const url = `${await listen()}/api/executions/${id}/events`;
    const open: Promise<unknown>[] = [];
    // Counts as open once it has replayed the run's first event.
    const openStream = (bearer: string) =>
      new Promise<void>((opened) =>
        open.push(
          readSse(url, { headers: { authorization: `Bearer ${bearer}` }, onEvent: () => opened() }),
        ),
      );
    await openStream(TOKEN);
    await openStream(token);
    const over = await asScoped('GET', `/api/executions/${id}/events`);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'TOO_MANY_STREAMS' });
    run.succeed('done');
    await Promise.all(open);
  });
});
